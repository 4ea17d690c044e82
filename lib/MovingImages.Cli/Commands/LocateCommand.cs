using System.CommandLine;
using MovingImages.Imaging;
using MovingImages.IO;
using MovingImages.ObjectDetection;
using MovingImages.Runtime;
using MovingImages.Video;
using Spectre.Console;
using TorchSharp;
using MovingImages.Geometry;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages locate &lt;input&gt;</c>: detect objects in an image or a stream of frames; write annotated output, print or JSON-print the detections.</summary>
internal static class LocateCommand
{
    public static Command Create(CliIO io)
    {
        var input = new Argument<string>("input") { Description = "an image, a video file, camera:N, a folder or glob of images, or a stream URL" };
        var cfg = SharedOptions.Cfg();
        var weights = SharedOptions.Weights();
        var names = SharedOptions.Names();
        var size = SharedOptions.Size();
        var conf = SharedOptions.Conf();
        var nms = SharedOptions.Nms();
        var threads = SharedOptions.Threads();
        var device = SharedOptions.Device();
        var precision = SharedOptions.Precision();
        var outPath = new Option<string?>("--out") { Description = "annotated image or video to write (default: out/<name>.annotated.jpg|.mp4)" };
        var json = new Option<string?>("--json") { Description = "JSON lines: on stdout, or into FILE for videos", Arity = ArgumentArity.ZeroOrOne };
        var dump = new Option<string?>("--dump") { Description = "images: also write input.npy and head<N>.npy (raw, before any logistic) into this folder" };
        var show = new Option<bool>("--show") { Description = "video: show frames in a window (q quits)" };
        var track = new Option<bool>("--track") { Description = "video: stable ids with the SORT tracker (the default)" };
        var noTrack = new Option<bool>("--no-track") { Description = "video: no tracking, raw per-frame detections" };
        var every = new Option<int>("--every") { Description = "video: detect every K-th frame, track in between", DefaultValueFactory = _ => PipelineOptions.Default.Every };
        var batch = new Option<int>("--batch") { Description = "video: frames per inference batch", DefaultValueFactory = _ => PipelineOptions.Default.Batch };
        var maxFrames = new Option<int?>("--max-frames") { Description = "video: stop after N frames" };
        var duration = new Option<double?>("--duration") { Description = "video: stop after this many seconds of video" };
        var statsFile = new Option<string?>("--stats") { Description = "video: write the run statistics as JSON to this file" };
        var maxDetections = new Option<int>("--max-detections") { Description = "at most this many boxes per image, the highest scores", DefaultValueFactory = _ => YoloOptions.Default.MaxDetections };
        var folderFps = new Option<double>("--fps") { Description = "frame rate for a folder of images", DefaultValueFactory = _ => 25 };
        var command = new Command("locate", "Detect objects with YOLOv3 in an image, a video, a camera or a stream, and draw labelled boxes.")
        {
            input, cfg, weights, names, size, conf, nms, maxDetections, threads, device, precision, outPath, json, dump, show, track, noTrack, every, batch, maxFrames, duration, folderFps, statsFile,
        };
        command.SetAction(async (parse, ct) =>
        {
            string path = parse.GetValue(input)!;
            if (string.IsNullOrWhiteSpace(path))
                throw new ArgumentException("no input given: name an image, a video, a folder or glob of images, camera:N, or a stream URL");
            string cfgPath = parse.GetValue(cfg)!, weightsPath = parse.GetValue(weights)!;
            SharedOptions.RequireFile(cfgPath, "Darknet config");
            SharedOptions.RequireFile(weightsPath, "Darknet weights");
            var options = new YoloOptions(parse.GetValue(size), parse.GetValue(conf), parse.GetValue(nms), parse.GetValue(maxDetections)).Validate();
            bool jsonWanted = parse.GetResult(json) != null;
            string? jsonFile = parse.GetValue(json) is { Length: > 0 } j && j != "-" ? j : null;
            if (FrameSources.IsImageFile(path) && !File.Exists(path)) throw new FileNotFoundException($"Image not found: {path}", path);
            TorchRuntime.SetThreads(parse.GetValue(threads));
            using var yolo = Yolo.Load(cfgPath, weightsPath, parse.GetValue(names), TorchRuntime.ParseDevice(parse.GetValue(device)),
                PrecisionExtensions.Parse(parse.GetValue(precision)!));

            if (FrameSources.IsImageFile(path))
            {
                LocateImage(io, yolo, options, path, parse.GetValue(outPath), jsonWanted, parse.GetValue(dump));
                return 0;
            }
            var pipelineOptions = new PipelineOptions(parse.GetValue(batch), parse.GetValue(every), parse.GetValue(maxFrames),
                parse.GetValue(duration) is { } secs ? TimeSpan.FromSeconds(secs) : null, Track: !parse.GetValue(noTrack), ClassCount: yolo.Names.Count).Validate();
            string target = parse.GetValue(outPath) ?? Path.Combine("out", SafeName(path) + ".annotated.mp4");
            var stats = await LocateVideoAsync(io, new YoloFrameDetector(yolo, options), path, target, pipelineOptions, jsonWanted, jsonFile, parse.GetValue(show), parse.GetValue(folderFps), ct);
            if (parse.GetValue(statsFile) is { } statsPath) AtomicFile.WriteText(statsPath, stats.ToJson());
            return stats.Cancelled ? 130 : stats.FramesOut > 0 ? 0 : 1; // 130: stopped by Ctrl+C, outputs finished
        });
        return command;
    }

    static string SafeName(string spec)
    {
        var name = Path.GetFileNameWithoutExtension(spec.TrimEnd('/', '\\'));
        name = new string(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray()).Trim('_');
        return name.Length > 0 ? name : "video";
    }

    static void LocateImage(CliIO io, Yolo yolo, YoloOptions options, string path, string? outPath, bool json, string? dump)
    {
        using var result = yolo.Detect(path, options);
        if (File.Exists(path) && ImageFiles.Damage(path) is { } damage) io.Err.WriteLine($"warning: {damage}");
        string target = outPath ?? Path.Combine("out", Path.GetFileNameWithoutExtension(path) + ".annotated.jpg");
        result.Save(target);
        if (dump is { } dumpDir) Dump(yolo, result, options, dumpDir, io);
        if (json)
        {
            foreach (var d in result.Detections) io.Out.WriteLine(DetectionJson.Line(d));
        }
        else
        {
            var table = new Table().AddColumns("label", "score", "x", "y", "w", "h");
            foreach (var d in result.Detections)
                table.AddRow(Markup.Escape(d.Label), $"{d.Score:0.00}", $"{d.Box.X:0}", $"{d.Box.Y:0}", $"{d.Box.Width:0}", $"{d.Box.Height:0}");
            io.Console.Write(table);
        }
        io.Err.WriteLine($"{result.Detections.Count} objects in {result.Elapsed.TotalMilliseconds:0} ms ({options.InputSize}×{options.InputSize}, {yolo.Device.type}, {TorchRuntime.Threads} threads); wrote {target}");
    }

    /// <summary>Runs the video pipeline with a progress bar; prints the statistics; returns them.</summary>
    internal static async Task<RunStats> LocateVideoAsync(CliIO io, IFrameDetector detector, string spec, string target, PipelineOptions options,
        bool json, string? jsonFile, bool show, double folderFps, CancellationToken ct)
    {
        using var source = FrameSources.Open(spec, folderFps);
        io.Err.WriteLine(source.Info.ToString());
        bool isFile = File.Exists(spec);
        var sinks = new List<IFrameSink>();
        VideoPipeline? pipeline = null;
        try
        {
            var video = new VideoFileSink(target, isFile ? spec : null);
            sinks.Add(video);
            if (json) sinks.Add(jsonFile != null ? new JsonLinesSink(jsonFile) : new JsonLinesSink(io.Out));
            if (show) sinks.Add(new WindowSink("MovingImages — q to quit", () => pipeline?.RequestStop()));
            pipeline = new VideoPipeline(source, detector, sinks, options);
            RunStats stats;
            int? total = options.MaxFrames is { } m ? Math.Min(m, source.Info.FrameCount ?? m) : source.Info.FrameCount;
            if (total is { } n)
            {
                stats = null!;
                await io.Console.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                    .StartAsync(async ctx =>
                    {
                        var task = ctx.AddTask("frames", maxValue: n);
                        var progress = new Progress<PipelineProgress>(p =>
                        {
                            task.Value = p.Frames;
                            task.Description = $"frames {p.Frames}/{n} · {p.Fps:0.0} fps";
                        });
                        stats = await pipeline.RunAsync(progress, ct);
                        task.Value = n;
                    });
            }
            else
            {
                var progress = new Progress<PipelineProgress>(p =>
                {
                    if (p.Frames % 25 == 0) io.Err.WriteLine($"frames {p.Frames} · {p.Fps:0.0} fps · latency {p.LastLatencyMs:0} ms");
                });
                stats = await pipeline.RunAsync(progress, ct);
            }
            io.Err.WriteLine(stats.Summary(withSource: false)); // the source's line was printed when it opened
            string written = video.WrittenPath;
            if (!stats.Complete && ct.IsCancellationRequested)
                io.Err.WriteLine(written == video.Path
                    ? $"cancelled after {stats.FramesOut} frames; {written} holds them and is playable."
                    : $"cancelled after {stats.FramesOut} frames; {written} holds them and is playable; the earlier {video.Path} is kept as it was.");
            io.Err.WriteLine($"wrote {written} ({stats.FramesOut} frames; audio: {video.AudioStatus})" + (jsonFile != null ? $" and {jsonFile}" : ""));
            return stats;
        }
        finally
        {
            foreach (var s in sinks) s.Dispose();
        }
    }

    static void Dump(Yolo yolo, DetectionResult result, YoloOptions options, string dir, CliIO io)
    {
        using var scope = torch.NewDisposeScope();
        var (input, _) = yolo.Prepare([result.Image], options.InputSize);
        var heads = yolo.Forward(input);
        Write(Path.Combine(dir, "input.npy"), input);
        for (int i = 0; i < heads.Length; i++) Write(Path.Combine(dir, $"head{i}.npy"), heads[i]);
        io.Err.WriteLine($"dumped input.npy and {heads.Length} heads to {dir}");

        static void Write(string path, torch.Tensor t) =>
            Npy.Write(path, t.to(torch.CPU).contiguous().data<float>().ToArray(), t.shape);
    }
}
