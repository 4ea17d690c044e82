using System.CommandLine;
using System.Diagnostics;
using MovingImages.Darknet;
using MovingImages.ObjectDetection;
using MovingImages.Runtime;
using TorchSharp;
using MovingImages.Geometry;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages bench video</c>: inference and whole-pipeline frames/s on a video, file and live mode.</summary>
internal static class BenchVideoCommand
{
    public static Command Create(CliIO io)
    {
        var cfg = SharedOptions.Cfg();
        var weights = SharedOptions.Weights();
        var size = SharedOptions.Size();
        var threads = SharedOptions.Threads();
        var input = new Option<string>("--input") { Description = "video file", DefaultValueFactory = _ => "data/video/vtest.avi" };
        var frames = new Option<int>("--frames") { Description = "frames to process", DefaultValueFactory = _ => 150 };
        var batch = new Option<int>("--batch") { Description = "frames per inference batch", DefaultValueFactory = _ => 1 };
        var crowded = new Option<bool>("--crowded")
        {
            Description = "also run the same frames at confidence 0.001, where thousands of raw boxes per frame pass the threshold (a crowded scene, or a badly trained model), and compare the cost per frame",
        };
        var live = new Option<bool>("--live") { Description = "also play the video in real time, as a camera delivers it, and measure how far the frame shown is behind the newest captured" };
        var precision = SharedOptions.Precision();
        var json = BenchJson.Option();
        var command = new Command("video", "End-to-end fps of the video pipeline (decode, detect, track, annotate, encode) next to pure-inference fps on the same frames.")
        {
            cfg, weights, size, threads, input, frames, batch, crowded, live, precision, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            string cfgPath = parse.GetValue(cfg)!, weightsPath = parse.GetValue(weights)!, videoPath = parse.GetValue(input)!;
            SharedOptions.RequireFile(cfgPath, "Darknet config");
            if (!File.Exists(videoPath)) throw new FileNotFoundException($"Video not found: {videoPath}. Run `movingimages fetch samples` or pass --input.", videoPath);
            int n = Math.Max(1, parse.GetValue(frames)), b = Math.Max(1, parse.GetValue(batch));
            var options = new YoloOptions(parse.GetValue(size)).Validate();
            TorchRuntime.SetThreads(parse.GetValue(threads));
            var config = DarknetConfig.Load(cfgPath);
            string weightsNote = weightsPath;
            var temps = new List<string>();
            var decoded = new List<Video.Frame>();
            using (var source = Video.FrameSources.Open(videoPath))
                while (decoded.Count < n && source.Read() is { } f) decoded.Add(f);
            try
            {
                if (!File.Exists(weightsPath))
                {
                    weightsNote = $"synthetic ({weightsPath} not found)";
                    weightsPath = Path.Combine(Path.GetTempPath(), $"movingimages-bench-{Environment.ProcessId}.weights");
                    temps.Add(weightsPath);
                    DarknetWeightsFile.Write(weightsPath, ObjectDetection.YoloFiles.Calibrated(config, [decoded[0].Image], options.InputSize, new SyntheticWeightsOptions()), config);
                }
                io.Err.WriteLine($"{Path.GetFileName(cfgPath)} at {options.InputSize}, batch {b}, {TorchRuntime.Threads} threads, weights: {weightsNote}, {decoded.Count} frames of {videoPath}");
                var mode = PrecisionExtensions.Parse(parse.GetValue(precision)!);
                var normal = await MeasureVideo(weightsPath, cfgPath, videoPath, decoded, options, b, mode, ct);
                io.Err.WriteLine(normal.Stats.ToString());
                io.Out.WriteLine($"video: pipeline {normal.Stats.Fps:0.0} fps end to end (decode + detect + track + annotate + encode), pure inference {normal.InferenceFps:0.0} fps, " +
                                 $"pipeline/inference {normal.Stats.Fps / normal.InferenceFps:P0}, {normal.BoxesPerFrame:0.#} boxes per frame");
                var figures = BenchJson.Start("video");
                figures["model"] = Path.GetFileName(cfgPath);
                figures["input_size"] = options.InputSize;
                figures["precision"] = mode.ShortName();
                figures["batch"] = b;
                figures["threads"] = TorchRuntime.Threads;
                figures["frames"] = decoded.Count;
                figures["weights"] = weightsNote;
                figures["pipeline_fps"] = BenchJson.Round(normal.Stats.Fps);
                figures["inference_fps"] = BenchJson.Round(normal.InferenceFps);
                figures["latency_p50_ms"] = BenchJson.Round(normal.Stats.Stages.Single(st => st.Stage == "end to end").P50, 1);
                figures["latency_p95_ms"] = BenchJson.Round(normal.Stats.Stages.Single(st => st.Stage == "end to end").P95, 1);
                figures["boxes_per_frame"] = BenchJson.Round(normal.BoxesPerFrame);
                if (parse.GetValue(crowded))
                {
                    // The same network and frames; only the threshold differs, so the difference is the work after the network.
                    var busy = await MeasureVideo(weightsPath, cfgPath, videoPath, decoded, options with { Confidence = 0.001f }, b, mode, ct);
                    io.Err.WriteLine(busy.Stats.ToString());
                    double Ms(VideoMeasure m) => 1000 / m.Stats.Fps;
                    string Mem(VideoMeasure m) => m.Stats.Memory.Count > 1 ? $"{m.Stats.Memory[0].Bytes / 1048576.0:0} → {m.Stats.Memory[^1].Bytes / 1048576.0:0} MB" : "n/a";
                    double PostMs(VideoMeasure m) => m.Stats.Stages.Single(st => st.Stage == "track+annotate").P50;
                    io.Out.WriteLine($"crowded (confidence 0.001): {busy.RawBoxesPerFrame:0} raw boxes → {busy.BoxesPerFrame:0} kept per frame (normal: {normal.RawBoxesPerFrame:0} → {normal.BoxesPerFrame:0.#}); " +
                                     $"{Ms(busy):0} ms per frame vs {Ms(normal):0} ms ({Ms(busy) / Ms(normal):0.00}×); track+annotate p50 {PostMs(busy):0.0} vs {PostMs(normal):0.0} ms; " +
                                     $"memory {Mem(busy)} (normal {Mem(normal)})");
                    figures["crowded_ms_per_frame"] = BenchJson.Round(Ms(busy));
                    figures["normal_ms_per_frame"] = BenchJson.Round(Ms(normal));
                    figures["crowded_raw_boxes_per_frame"] = BenchJson.Round(busy.RawBoxesPerFrame);
                }
                if (parse.GetValue(live))
                {
                    using var yolo = Yolo.Load(cfgPath, weightsPath, device: torch.CPU, precision: mode);
                    using var source = new Video.PacedSource(Video.FrameSources.Open(videoPath));
                    var stats = await new Video.VideoPipeline(source, new Video.YoloFrameDetector(yolo, options), [],
                        new Video.PipelineOptions(MaxFrames: decoded.Count, ClassCount: yolo.Names.Count)).RunAsync(cancellationToken: ct);
                    io.Err.WriteLine(stats.ToString());
                    var latency = stats.Stages.Single(st => st.Stage == "end to end");
                    io.Out.WriteLine($"live ({source.Info.Fps:0.#} fps, played in real time): frame shown p50 {stats.FramesBehind.P50:0.#} / p95 {stats.FramesBehind.P95:0.#} frames behind the newest captured, " +
                                     $"capture to screen p50 {latency.P50:0} ms / p95 {latency.P95:0} ms; {stats.FramesOut} of {stats.FramesIn + stats.FramesLate} frames shown, detector on {stats.FramesDetected} ({stats.FramesDetected / stats.Wall.TotalSeconds:0.0} detections/s)");
                    figures["live_frames_behind_p50"] = stats.FramesBehind.P50;
                    figures["live_frames_behind_p95"] = stats.FramesBehind.P95;
                    figures["live_latency_p50_ms"] = BenchJson.Round(latency.P50, 1);
                    figures["live_latency_p95_ms"] = BenchJson.Round(latency.P95, 1);
                    figures["live_detections_per_s"] = BenchJson.Round(stats.FramesDetected / stats.Wall.TotalSeconds);
                }
                BenchJson.Write(parse.GetValue(json), figures);
            }
            finally
            {
                foreach (var f in decoded) f.Dispose();
                foreach (var t in temps) File.Delete(t);
            }
            return 0;
        });
        return command;
    }

    sealed record VideoMeasure(Video.RunStats Stats, double InferenceFps, double BoxesPerFrame, double RawBoxesPerFrame);

    /// <summary>Pure inference over <paramref name="decoded"/>, then the whole pipeline over the same frames of the video.</summary>
    static async Task<VideoMeasure> MeasureVideo(string weightsPath, string cfgPath, string videoPath, List<Video.Frame> decoded, YoloOptions options, int b,
        Precision precision, CancellationToken ct)
    {
        using var yolo = Yolo.Load(cfgPath, weightsPath, device: torch.CPU, precision: precision);
        var detector = new CountingDetector(new Video.YoloFrameDetector(yolo, options));
        detector.Detect(decoded.Take(b).ToArray()); // warm-up
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < decoded.Count; i += b) detector.Detect(decoded.Skip(i).Take(b).ToArray());
        double inferFps = decoded.Count / sw.Elapsed.TotalSeconds;
        double boxes = detector.MeanBoxes;
        long raw;
        using (torch.NewDisposeScope()) // (box, class) pairs above the threshold on the first frame, before the cap and NMS
        {
            var (input, _) = yolo.Prepare([decoded[0].Image], options.InputSize);
            var rows = YoloDecoder.Decode(yolo.Forward(input), yolo.Config.YoloLayers, options.InputSize, options.InputSize);
            raw = Scalars.Greater(rows[0][.., 5..], options.Confidence).sum().item<long>(); // class scores include objectness
        }

        string outPath = Path.Combine(Path.GetTempPath(), $"movingimages-bench-{Environment.ProcessId}.mp4");
        try
        {
            using var source = Video.FrameSources.Open(videoPath);
            using var sink = new Video.VideoFileSink(outPath);
            var pipeline = new Video.VideoPipeline(source, detector, [sink], new Video.PipelineOptions(Batch: b, MaxFrames: decoded.Count, ClassCount: yolo.Names.Count));
            return new VideoMeasure(await pipeline.RunAsync(cancellationToken: ct), inferFps, boxes, raw);
        }
        finally { File.Delete(outPath); }
    }

    /// <summary>Counts the boxes a detector returns.</summary>
    sealed class CountingDetector(Video.IFrameDetector inner) : Video.IFrameDetector
    {
        long _boxes, _frames;
        public double MeanBoxes => _frames == 0 ? 0 : (double)_boxes / _frames;
        public IReadOnlyList<IReadOnlyList<Detection>> Detect(IReadOnlyList<Video.Frame> frames)
        {
            var result = inner.Detect(frames);
            _boxes += result.Sum(r => r.Count);
            _frames += result.Count;
            return result;
        }
    }
}
