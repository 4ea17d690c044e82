using System.Diagnostics;
using System.Text.Json;
using MovingImages.Media;
using MovingImages.ObjectDetection;
using MovingImages.Video;
using OpenCvSharp;
using TorchSharp;
using Scalar = OpenCvSharp.Scalar;
using Xunit.Abstractions;
using MovingImages.Geometry;

namespace MovingImages.Tests.Video;

public class PipelineTests(ITestOutputHelper output)
{
    static string Video(string name) => TestData.Shared("data", "video", name);

    /// <summary>Four AAC frames of 1024 samples at 48 kHz: how far re-encoded sound may run past a cut.</summary>
    internal const double AacSlack = 4 * 1024 / 48000.0;

    /// <summary>A detector that finds nothing (for tests about frames, files and sound, not about detections).</summary>
    sealed class NoDetector : IFrameDetector
    {
        public int Calls;
        public IReadOnlyList<IReadOnlyList<Detection>> Detect(IReadOnlyList<Frame> frames)
        {
            Interlocked.Increment(ref Calls);
            return frames.Select(_ => (IReadOnlyList<Detection>)[]).ToArray();
        }
    }

    [Fact]
    public async Task Vtest_through_the_full_pipeline_keeps_every_frame()
    {
        var (config, weights, _) = SyntheticModels.Get("yolov3-tiny.cfg");
        using var yolo = Yolo.FromWeights(config, weights, ClassNames.Load(TestData.CocoNames), torch.CPU);
        var dir = TestData.NewTempDir("vtest");
        string videoOut = Path.Combine(dir, "vtest.mp4"), jsonOut = Path.Combine(dir, "vtest.jsonl");
        var seen = new List<(int Index, int Objects)>();
        RunStats stats;
        using (var source = FrameSources.Open(Video("vtest.avi")))
        using (var video = new VideoFileSink(videoOut))
        using (var json = new JsonLinesSink(jsonOut))
        {
            Assert.Equal((768, 576, 10.0, 795), (source.Info.Width, source.Info.Height, source.Info.Fps, source.Info.FrameCount));
            var pipeline = new VideoPipeline(source, new YoloFrameDetector(yolo, new YoloOptions(320)),
                [video, json, new CallbackSink(f => seen.Add((f.Frame.Index, f.Objects.Count)))], new PipelineOptions(Batch: 2));
            stats = await pipeline.RunAsync();
        }
        output.WriteLine(stats.ToString());
        // every frame once, in order
        Assert.Equal(Enumerable.Range(0, 795), seen.Select(s => s.Index));
        Assert.Equal((795, 795, 0, 795), (stats.FramesIn, stats.FramesOut, stats.FramesDropped, stats.FramesDetected));
        Assert.True(stats.Complete);
        // the video: same frame count, size and rate
        var streams = Ffmpeg.Probe(videoOut);
        var v = Assert.Single(streams, s => s.Type == "video");
        Assert.Equal(795, v.Frames);
        using (var check = new VideoCapture(videoOut))
        {
            Assert.Equal(768, (int)check.Get(VideoCaptureProperties.FrameWidth));
            Assert.Equal(576, (int)check.Get(VideoCaptureProperties.FrameHeight));
            Assert.Equal(10.0, check.Get(VideoCaptureProperties.Fps), 2);
        }
        Assert.Equal(79.5, v.Duration!.Value.TotalSeconds, 1);
        // the JSON lines: one record set per frame that showed objects, in order, with time = frame / fps
        var lines = File.ReadAllLines(jsonOut);
        var byFrame = new Dictionary<int, int>();
        int last = -1;
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var o = doc.RootElement;
            Assert.Equal(["frame", "time", "track", "label", "score", "x", "y", "w", "h"], o.EnumerateObject().Select(p => p.Name));
            int frame = o.GetProperty("frame").GetInt32();
            Assert.True(frame >= last, "frames out of order");
            last = frame;
            Assert.Equal(frame / 10.0, o.GetProperty("time").GetDouble(), 3);
            Assert.Equal(JsonValueKind.Number, o.GetProperty("track").ValueKind);
            byFrame[frame] = byFrame.GetValueOrDefault(frame) + 1;
        }
        Assert.NotEmpty(byFrame);
        Assert.Equal(seen.Where(s => s.Objects > 0).ToDictionary(s => s.Index, s => s.Objects), byFrame);
    }

    [Fact]
    public async Task Megamind_keeps_its_sound()
    {
        var dir = TestData.NewTempDir("megamind");
        string outPath = Path.Combine(dir, "megamind.mp4");
        RunStats stats;
        using (var source = FrameSources.Open(Video("Megamind.avi")))
        using (var sink = new VideoFileSink(outPath, Video("Megamind.avi")))
        {
            stats = await new VideoPipeline(source, new NoDetector(), [sink]).RunAsync();
            Assert.Equal("re-encoded from ac3 to AAC 192 kb/s", sink.AudioStatus); // said as it is (was "copied")
        }
        var input = Ffmpeg.Probe(Video("Megamind.avi"));
        var result = Ffmpeg.Probe(outPath);
        Assert.Equal("ac3", Assert.Single(input, s => s.Type == "audio").Codec);
        Assert.Equal("aac", Assert.Single(result, s => s.Type == "audio").Codec);
        double secondsIn = Ffmpeg.AudioDuration(Video("Megamind.avi")).TotalSeconds, secondsOut = Ffmpeg.AudioDuration(outPath).TotalSeconds;
        output.WriteLine($"audio in {secondsIn:0.000} s, out {secondsOut:0.000} s; frames {stats.FramesOut}");
        Assert.Equal(270, stats.FramesOut);
        Assert.Equal(270, Assert.Single(result, s => s.Type == "video").Frames);
        Assert.InRange(secondsOut, secondsIn - AacSlack, secondsIn + AacSlack);
    }

    [Fact]
    public async Task Cancelling_mid_file_leaves_a_playable_partial_video_with_matching_sound()
    {
        var dir = TestData.NewTempDir("cancel");
        string outPath = Path.Combine(dir, "partial.mp4");
        using var cts = new CancellationTokenSource();
        int written = 0;
        RunStats stats;
        using (var source = FrameSources.Open(Video("Megamind.avi")))
        using (var sink = new VideoFileSink(outPath, Video("Megamind.avi")))
        {
            var counter = new CallbackSink(_ => { if (++written == 60) cts.Cancel(); });
            stats = await new VideoPipeline(source, new NoDetector(), [sink, counter]).RunAsync(cancellationToken: cts.Token);
        }
        Assert.False(stats.Complete);
        Assert.True(stats.Cancelled);
        Assert.Contains("(stopped)", stats.ToString());
        Assert.InRange(stats.FramesOut, 60, 60 + 3 * PipelineOptions.Default.QueueCapacity); // what was in flight still lands
        Assert.Equal(stats.FramesIn, stats.FramesOut);
        var streams = Ffmpeg.Probe(outPath); // ffprobe decodes every packet: the file is complete and playable
        Assert.Equal(stats.FramesOut, Assert.Single(streams, s => s.Type == "video").Frames);
        double videoSeconds = stats.FramesOut / 23.976, audioSeconds = Ffmpeg.AudioDuration(outPath).TotalSeconds;
        output.WriteLine($"{stats.FramesOut} frames = {videoSeconds:0.000} s of video, {audioSeconds:0.000} s of audio");
        // AAC works in frames of 1024 samples (21 ms at 48 kHz) and pads the last one: a few frames of slack.
        Assert.InRange(audioSeconds, videoSeconds - AacSlack, videoSeconds + AacSlack);
        Assert.Equal([outPath], Directory.GetFiles(dir)); // no temporary files left
    }

    [Fact]
    public async Task Every_kth_frame_is_detected_and_batches_are_filled()
    {
        var detector = new NoDetector();
        using var source = FrameSources.Open(Video("vtest.avi"));
        var stats = await new VideoPipeline(source, detector, [], new PipelineOptions(Batch: 3, Every: 4, MaxFrames: 48)).RunAsync();
        Assert.Equal(48, stats.FramesOut);
        Assert.Equal(12, stats.FramesDetected);
        Assert.Equal(4, detector.Calls);
        Assert.False(stats.Cancelled);
        Assert.Contains("(frame limit)", stats.ToString());
        var duration = await new VideoPipeline(FrameSources.Open(Video("vtest.avi")), detector, [], new PipelineOptions(Duration: TimeSpan.FromSeconds(2))).RunAsync();
        Assert.Equal(21, duration.FramesOut); // frames at 0.0 … 2.0 s at 10 fps
    }

    [Fact]
    public async Task A_failing_sink_stops_the_run_with_its_error_instead_of_hanging()
    {
        using var source = FrameSources.Open(Video("vtest.avi"));
        var boom = new CallbackSink(f => { if (f.Frame.Index == 10) throw new IOException("disk full"); });
        var run = new VideoPipeline(source, new NoDetector(), [boom]).RunAsync();
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.Same(run, finished);
        var e = await Assert.ThrowsAsync<IOException>(() => run);
        Assert.Equal("disk full", e.Message);
    }

    [Fact]
    public void Bad_sources_are_clear_errors()
    {
        Assert.Throws<FileNotFoundException>(() => FrameSources.Open("/nonexistent/clip.mp4"));
        var dir = TestData.NewTempDir("badsrc");
        var fake = Path.Combine(dir, "not-a-video.avi");
        File.WriteAllText(fake, "this is text, not video");
        var e = Assert.Throws<InvalidDataException>(() => FrameSources.Open(fake));
        Assert.Contains("not-a-video.avi", e.Message);
        var cam = Assert.Throws<InvalidOperationException>(() => FrameSources.Open("camera:57"));
        Assert.Contains("No camera at index 57", cam.Message);
        Assert.Throws<FileNotFoundException>(() => FrameSources.Open(Path.Combine(dir, "*.png")));
    }

    [Fact]
    public void Image_folders_skip_and_count_unreadable_files()
    {
        var dir = TestData.NewTempDir("frames");
        using var img = new Mat(48, 64, MatType.CV_8UC3, Scalar.All(128));
        foreach (var i in new[] { 1, 2, 10 }) Cv2.ImWrite(Path.Combine(dir, $"frame{i}.png"), img);
        File.WriteAllText(Path.Combine(dir, "frame3.png"), "broken");
        using var source = FrameSources.Open(Path.Combine(dir, "frame*.png"), folderFps: 5);
        Assert.Equal((64, 48, 5.0, 4), (source.Info.Width, source.Info.Height, source.Info.Fps, source.Info.FrameCount));
        var frames = new List<Frame>();
        while (source.Read() is { } f) frames.Add(f);
        Assert.Equal([0, 1, 3], frames.Select(f => f.Index)); // natural order: 1, 2, (3 broken), 10
        Assert.Equal(TimeSpan.FromSeconds(0.6), frames[2].Time);
        Assert.Equal(1, source.Skipped);
        frames.ForEach(f => f.Dispose());
    }
}

public class PipelineExtrasTests
{
    sealed class NoDetector : IFrameDetector
    {
        public IReadOnlyList<IReadOnlyList<Detection>> Detect(IReadOnlyList<Frame> frames) => frames.Select(_ => (IReadOnlyList<Detection>)[]).ToArray();
    }

    [Fact]
    public async Task A_video_over_http_is_read_as_a_stream()
    {
        using var server = new MovingImages.Tests.Fetch.LocalHttpServer();
        string url = server.Add("vtest.avi", File.ReadAllBytes(TestData.Shared("data", "video", "vtest.avi")));
        using var source = FrameSources.Open(url);
        Assert.Null(source.Info.FrameCount); // a stream: length unknown
        Assert.Equal((768, 576), (source.Info.Width, source.Info.Height));
        var stats = await new VideoPipeline(source, new NoDetector(), [], new PipelineOptions(MaxFrames: 30, DropLateFrames: false)).RunAsync();
        Assert.Equal(30, stats.FramesOut);
    }

    [Fact]
    public async Task Latency_chart_renders_as_png()
    {
        using var source = FrameSources.Open(TestData.Shared("data", "video", "vtest.avi"));
        var stats = await new VideoPipeline(source, new NoDetector(), [], new PipelineOptions(MaxFrames: 20)).RunAsync();
        var png = MovingImages.Interactive.ImageCharts.Latency(stats).GetImageBytes(600, 300, ScottPlot.ImageFormat.Png);
        Assert.True(png.Length > 1000);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        using var decoded = Cv2.ImDecode(png, ImreadModes.Color);
        Assert.Equal((600, 300), (decoded.Cols, decoded.Rows));
        Assert.Equal(5, stats.Stages.Count);
        Assert.All(stats.Stages, s => Assert.True(s.P50 <= s.P95 && s.P95 <= s.Max));
    }
}

/// <summary>Live sources: the frame shown stays within two frames of the newest captured, whatever the detector's speed.</summary>
public class LivePipelineTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>A detector as slow as YOLOv3 on a 2-core CPU (≈ 5 frames of a 25 fps camera), finding one box.</summary>
    sealed class SlowDetector(TimeSpan delay) : IFrameDetector
    {
        public int Calls;
        public IReadOnlyList<IReadOnlyList<Detection>> Detect(IReadOnlyList<Frame> frames)
        {
            Interlocked.Increment(ref Calls);
            Thread.Sleep(delay);
            return frames.Select(f => (IReadOnlyList<Detection>)[new Detection(0, "person", 0.9f, new Box(100 + f.Index, 100, 80, 160))]).ToArray();
        }
    }

    sealed class Shown : IFrameSink
    {
        public readonly List<(int Index, int Objects)> Frames = [];
        public void Open(VideoInfo info) { }
        public void Write(ProcessedFrame frame) => Frames.Add((frame.Frame.Index, frame.Objects.Count));
        public void Complete(RunCompletion completion) { }
        public void Dispose() { }
    }

    [Fact]
    public async Task A_live_source_is_shown_within_two_frames_of_the_newest_while_a_slow_detector_catches_up()
    {
        using var source = new PacedSource(FrameSources.Open(TestData.Shared("data", "video", "vtest.avi")), fps: 25);
        var detector = new SlowDetector(TimeSpan.FromMilliseconds(200));
        var sink = new Shown();
        var stats = await new VideoPipeline(source, detector, [sink], new PipelineOptions(MaxFrames: 75)).RunAsync();
        output.WriteLine(stats.ToString());
        Assert.Equal(75, stats.FramesIn + stats.FramesLate);
        Assert.Equal(stats.FramesOut, sink.Frames.Count);
        Assert.True(stats.FramesOut >= 60, $"only {stats.FramesOut} of 75 frames shown: the display waited for detection");
        Assert.True(stats.FramesBehind.P50 <= 2, $"the frame shown was p50 {stats.FramesBehind.P50} frames behind the newest");
        Assert.InRange(detector.Calls, 8, 20);                                      // the detector ran on the newest frame whenever free (3 s / 0.2 s)
        Assert.Equal(detector.Calls, stats.FramesDetected);
        Assert.True(sink.Frames.Select(f => f.Index).SequenceEqual(sink.Frames.Select(f => f.Index).Order()), "frames shown in order");
        Assert.True(sink.Frames.Skip(sink.Frames.Count / 2).All(f => f.Objects == 1), "after the first detections every frame shows the tracked box");
        var endToEnd = stats.Stages.Single(s => s.Stage == "end to end");
        Assert.True(endToEnd.P50 < 100, $"a frame took p50 {endToEnd.P50:0} ms from capture to screen (detection takes 200)");
    }

    [Fact]
    public async Task A_file_still_goes_frame_by_frame_through_the_detector()
    {
        using var source = FrameSources.Open(TestData.Shared("data", "video", "vtest.avi"));
        var detector = new SlowDetector(TimeSpan.FromMilliseconds(5));
        var stats = await new VideoPipeline(source, detector, [], new PipelineOptions(MaxFrames: 20)).RunAsync();
        Assert.Equal((20, 20, 0), (stats.FramesOut, stats.FramesDetected, stats.FramesLate));
        Assert.Equal((0.0, 0.0), stats.FramesBehind);
    }
}
