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
        var command = new Command("video", "End-to-end fps of the video pipeline (decode, detect, track, annotate, encode) next to pure-inference fps on the same frames.")
        {
            cfg, weights, size, threads, input, frames, batch,
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
            string? tempWeights = null;
            var decoded = new List<Video.Frame>();
            using (var source = Video.FrameSources.Open(videoPath))
                while (decoded.Count < n && source.Read() is { } f) decoded.Add(f);
            try
            {
                if (!File.Exists(weightsPath))
                {
                    tempWeights = Path.Combine(Path.GetTempPath(), $"movingimages-bench-{Environment.ProcessId}.weights");
                    DarknetWeightsFile.Write(tempWeights, WeightsCommand.Generate(config, [decoded[0].Image], options.InputSize, new SyntheticWeightsOptions()), config);
                    weightsNote = $"synthetic ({weightsPath} not found)";
                    weightsPath = tempWeights;
                }
                using var yolo = Yolo.Load(cfgPath, weightsPath, device: torch.CPU);
                var detector = new Video.YoloFrameDetector(yolo, options);
                detector.Detect(decoded.Take(b).ToArray()); // warm-up
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < decoded.Count; i += b) detector.Detect(decoded.Skip(i).Take(b).ToArray());
                double inferFps = decoded.Count / sw.Elapsed.TotalSeconds;

                string outPath = Path.Combine(Path.GetTempPath(), $"movingimages-bench-{Environment.ProcessId}.mp4");
                Video.RunStats stats;
                using (var source = Video.FrameSources.Open(videoPath))
                using (var sink = new Video.VideoFileSink(outPath))
                {
                    var pipeline = new Video.VideoPipeline(source, detector, [sink], new Video.PipelineOptions(Batch: b, MaxFrames: decoded.Count, ClassCount: yolo.Names.Count));
                    stats = await pipeline.RunAsync(cancellationToken: ct);
                }
                File.Delete(outPath);
                io.Err.WriteLine($"{Path.GetFileName(cfgPath)} at {options.InputSize}, batch {b}, {TorchRuntime.Threads} threads, weights: {weightsNote}, {decoded.Count} frames of {videoPath}");
                io.Err.WriteLine(stats.ToString());
                io.Out.WriteLine($"video: pipeline {stats.Fps:0.0} fps end to end (decode + detect + track + annotate + encode), pure inference {inferFps:0.0} fps, pipeline/inference {stats.Fps / inferFps:P0}");
            }
            finally
            {
                foreach (var f in decoded) f.Dispose();
                if (tempWeights != null) File.Delete(tempWeights);
            }
            return 0;
        });
        return command;
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
                DarknetWeightsFile.Write(tempWeights, WeightsCommand.Generate(config, [mat], options.InputSize, new SyntheticWeightsOptions()), config);
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
