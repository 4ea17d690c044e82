using System.CommandLine;
using System.Diagnostics;
using MovingImages.Darknet;
using MovingImages.Imaging;
using MovingImages.ObjectDetection;
using MovingImages.Runtime;
using OpenCvSharp;
using Spectre.Console;
using TorchSharp;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages bench locate</c>: our network next to OpenCV DNN on the same weights, input and threads.</summary>
internal static class BenchCommand
{
    public static Command Create(CliIO io)
    {
        var command = new Command("bench", "Measure speed side by side with a peer implementation.");
        command.Subcommands.Add(Locate(io));
        command.Subcommands.Add(VideoBench(io));
        command.Subcommands.Add(FacesCommand.Bench(io));
        command.Subcommands.Add(FakeVideoCommand.Bench(io));
        return command;
    }

    static Command VideoBench(CliIO io)
    {
        var cfg = SharedOptions.Cfg();
        var weights = SharedOptions.Weights();
        var size = SharedOptions.Size();
        var threads = new Option<int>("--threads") { Description = "inference threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var input = new Option<string>("--input") { Description = "video file", DefaultValueFactory = _ => "data/video/vtest.avi" };
        var frames = new Option<int>("--frames") { Description = "frames to process", DefaultValueFactory = _ => 150 };
        var batch = new Option<int>("--batch") { Description = "frames per inference batch", DefaultValueFactory = _ => 1 };
        var crowded = new Option<bool>("--crowded")
        {
            Description = "also run the same frames at confidence 0.001, where thousands of raw boxes per frame pass the threshold (a crowded scene, or a badly trained model), and compare the cost per frame",
        };
        var command = new Command("video", "End-to-end fps of the video pipeline (decode, detect, track, annotate, encode) next to pure-inference fps on the same frames.")
        {
            cfg, weights, size, threads, input, frames, batch, crowded,
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
                var normal = await MeasureVideo(weightsPath, cfgPath, videoPath, decoded, options, b, ct);
                io.Err.WriteLine(normal.Stats.ToString());
                io.Out.WriteLine($"video: pipeline {normal.Stats.Fps:0.0} fps end to end (decode + detect + track + annotate + encode), pure inference {normal.InferenceFps:0.0} fps, " +
                                 $"pipeline/inference {normal.Stats.Fps / normal.InferenceFps:P0}, {normal.BoxesPerFrame:0.#} boxes per frame");
                if (parse.GetValue(crowded))
                {
                    // The same network and frames; only the threshold differs, so the difference is the work after the network.
                    var busy = await MeasureVideo(weightsPath, cfgPath, videoPath, decoded, options with { Confidence = 0.001f }, b, ct);
                    io.Err.WriteLine(busy.Stats.ToString());
                    double Ms(VideoMeasure m) => 1000 / m.Stats.Fps;
                    string Mem(VideoMeasure m) => m.Stats.Memory.Count > 1 ? $"{m.Stats.Memory[0].Bytes / 1048576.0:0} → {m.Stats.Memory[^1].Bytes / 1048576.0:0} MB" : "n/a";
                    double PostMs(VideoMeasure m) => m.Stats.Stages.Single(st => st.Stage == "track+annotate").P50;
                    io.Out.WriteLine($"crowded (confidence 0.001): {busy.RawBoxesPerFrame:0} raw boxes → {busy.BoxesPerFrame:0} kept per frame (normal: {normal.RawBoxesPerFrame:0} → {normal.BoxesPerFrame:0.#}); " +
                                     $"{Ms(busy):0} ms per frame vs {Ms(normal):0} ms ({Ms(busy) / Ms(normal):0.00}×); track+annotate p50 {PostMs(busy):0.0} vs {PostMs(normal):0.0} ms; " +
                                     $"memory {Mem(busy)} (normal {Mem(normal)})");
                }
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
    static async Task<VideoMeasure> MeasureVideo(string weightsPath, string cfgPath, string videoPath, List<Video.Frame> decoded, YoloOptions options, int b, CancellationToken ct)
    {
        using var yolo = Yolo.Load(cfgPath, weightsPath, device: torch.CPU);
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

    static Command Locate(CliIO io)
    {
        var cfg = SharedOptions.Cfg();
        var weights = SharedOptions.Weights();
        var size = SharedOptions.Size();
        var threads = new Option<int>("--threads") { Description = "threads for both implementations", DefaultValueFactory = _ => Environment.ProcessorCount };
        var image = new Option<string>("--image") { Description = "input image", DefaultValueFactory = _ => "data/images/dog.jpg" };
        var runs = new Option<int>("--runs") { Description = "timed runs per implementation", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "untimed runs first", DefaultValueFactory = _ => 2 };
        var command = new Command("locate", "ms per frame of our YOLO network vs OpenCV DNN (same weights, input, threads).")
        {
            cfg, weights, size, threads, image, runs, warmup,
        };
        command.SetAction(parse =>
        {
            string cfgPath = parse.GetValue(cfg)!, weightsPath = parse.GetValue(weights)!, imagePath = parse.GetValue(image)!;
            SharedOptions.RequireFile(cfgPath, "Darknet config");
            if (!File.Exists(imagePath)) throw new FileNotFoundException($"Image not found: {imagePath}. Run `movingimages fetch samples` or pass --image.", imagePath);
            int n = parse.GetValue(threads), timed = Math.Max(1, parse.GetValue(runs)), untimed = Math.Max(0, parse.GetValue(warmup));
            var options = new YoloOptions(parse.GetValue(size)).Validate();
            var config = DarknetConfig.Load(cfgPath);
            using var mat = ImageFiles.Read(imagePath);

            string weightsNote = weightsPath;
            string? tempWeights = null;
            if (!File.Exists(weightsPath))
            {
                // Speed does not depend on the values: use synthetic weights (calibrated, so activations stay sane).
                tempWeights = Path.Combine(Path.GetTempPath(), $"movingimages-bench-{Environment.ProcessId}.weights");
                DarknetWeightsFile.Write(tempWeights, ObjectDetection.YoloFiles.Calibrated(config, [mat], options.InputSize, new SyntheticWeightsOptions()), config);
                weightsNote = $"synthetic ({weightsPath} not found)";
                weightsPath = tempWeights;
            }
            try
            {
                TorchRuntime.SetThreads(n);
                Cv2.SetNumThreads(n);
                using var yolo = Yolo.Load(cfgPath, weightsPath, device: torch.CPU);
                using var peer = new OpenCvDarknet(cfgPath, weightsPath);
                var (input, _) = yolo.Prepare([mat], options.InputSize);
                using (input)
                {
                    var heads = OpenCvDarknet.HeadLayerNames(config);
                    var ours = Time(untimed, timed, () =>
                    {
                        using var scope = torch.NewDisposeScope();
                        yolo.Forward(input);
                    });
                    var theirs = Time(untimed, timed, () => peer.Forward(input, heads));
                    var endToEnd = Time(untimed, timed, () => yolo.DetectObjects([mat], options));
                    var prepare = Time(untimed, timed, () => yolo.Prepare([mat], options.InputSize).Input.Dispose());
                    using var rawHeads = new DisposableTensors(yolo.Forward(input));
                    var decode = Time(untimed, timed, () =>
                    {
                        using var scope = torch.NewDisposeScope();
                        var decoded = YoloDecoder.Decode(rawHeads.Items, config.YoloLayers, options.InputSize, options.InputSize);
                        YoloDecoder.Select(decoded[0], Letterbox.Compute(mat.Cols, mat.Rows, options.InputSize, options.InputSize), yolo.Names, options.Confidence, options.NmsIou, options.MaxDetections);
                    });

                    io.Err.WriteLine($"{Path.GetFileName(cfgPath)} at {options.InputSize}×{options.InputSize}, {n} threads, weights: {weightsNote}, image: {imagePath}, {timed} runs after {untimed} warm-up");
                    var table = new Table().AddColumns("", "median ms", "min ms");
                    table.AddRow("MovingImages (TorchSharp) network", $"{ours.Median:0.0}", $"{ours.Min:0.0}");
                    table.AddRow($"OpenCV DNN {Cv2.GetVersionString()} network", $"{theirs.Median:0.0}", $"{theirs.Min:0.0}");
                    table.AddRow("MovingImages detect (letterbox + network + decode + NMS)", $"{endToEnd.Median:0.0}", $"{endToEnd.Min:0.0}");
                    table.AddRow("  of which letterbox", $"{prepare.Median:0.0}", $"{prepare.Min:0.0}");
                    table.AddRow("  of which decode + threshold + NMS", $"{decode.Median:0.0}", $"{decode.Min:0.0}");
                    io.Console.Write(table);
                    io.Out.WriteLine($"locate: ours {ours.Median:0.0} ms, OpenCV DNN {theirs.Median:0.0} ms, ratio OpenCV/ours {theirs.Median / ours.Median:0.00}x ({(theirs.Median >= ours.Median ? "ours faster" : "OpenCV faster")})");
                }
            }
            finally
            {
                if (tempWeights != null) File.Delete(tempWeights);
            }
            return 0;
        });
        return command;
    }

    /// <summary>Median and minimum milliseconds of <paramref name="timed"/> runs after <paramref name="untimed"/> warm-up runs.</summary>
    internal static (double Median, double Min) Time(int untimed, int timed, Action action)
    {
        for (int i = 0; i < untimed; i++) action();
        var ms = new double[timed];
        for (int i = 0; i < timed; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            ms[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(ms);
        return (timed % 2 == 1 ? ms[timed / 2] : (ms[timed / 2 - 1] + ms[timed / 2]) / 2, ms[0]);
    }

    sealed class DisposableTensors(torch.Tensor[] items) : IDisposable
    {
        public torch.Tensor[] Items { get; } = items;
        public void Dispose()
        {
            foreach (var t in Items) t.Dispose();
        }
    }
}
