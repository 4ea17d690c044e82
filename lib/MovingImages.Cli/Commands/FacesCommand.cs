using System.CommandLine;
using System.Diagnostics;
using MovingImages.FaceAnalysis;
using MovingImages.Imaging;
using MovingImages.Runtime;
using MovingImages.Video;
using Spectre.Console;
using MovingImages.Geometry;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages faces &lt;image|video&gt;</c> and <c>movingimages bench faces</c>.</summary>
internal static class FacesCommand
{
    static Option<string> Models() => new("--models") { Description = "face-api model folder", DefaultValueFactory = _ => Faces.DefaultDirectory };
    static Option<string> Detector() => new("--detector") { Description = "ssd or tiny", DefaultValueFactory = _ => "ssd" };

    static FaceDetectorKind Kind(string name) => name.ToLowerInvariant() switch
    {
        "ssd" => FaceDetectorKind.Ssd,
        "tiny" => FaceDetectorKind.Tiny,
        _ => throw new ArgumentException($"--detector {name}: expected ssd or tiny"),
    };

    public static Command Create(CliIO io)
    {
        var input = new Argument<string>("input") { Description = "an image, or a video/camera/folder/URL" };
        var models = Models();
        var detector = Detector();
        var minScore = new Option<float>("--min-score") { Description = "minimum detector score", DefaultValueFactory = _ => FaceOptions.Default.MinScore };
        var landmarks = new Option<bool>("--landmarks") { Description = "find the 68 landmarks" };
        var descriptors = new Option<bool>("--descriptors") { Description = "compute 128-d descriptors (implies --landmarks)" };
        var json = new Option<bool>("--json") { Description = "print one JSON object per face per line on stdout" };
        var output = new Option<string?>("--out") { Description = "annotated image or video (default: out/<name>.faces.jpg|.mp4)" };
        var maxFrames = new Option<int?>("--max-frames") { Description = "video: stop after N frames" };
        var command = new Command("faces", "Detect faces, their landmarks and descriptors with face-api's networks on TorchSharp.")
        {
            input, models, detector, minScore, landmarks, descriptors, json, output, maxFrames,
        };
        command.SetAction(async (parse, ct) =>
        {
            string path = parse.GetValue(input)!;
            var options = new FaceOptions(Kind(parse.GetValue(detector)!), parse.GetValue(minScore), Landmarks: parse.GetValue(landmarks) || parse.GetValue(descriptors), Descriptors: parse.GetValue(descriptors));
            using var faces = Faces.Load(parse.GetValue(models)!);
            if (FrameSources.IsImageFile(path))
            {
                using var image = ImageFiles.Read(path);
                var sw = Stopwatch.StartNew();
                var found = faces.DetectFaces(image, options);
                sw.Stop();
                string target = parse.GetValue(output) ?? Path.Combine("out", Path.GetFileNameWithoutExtension(path) + ".faces.jpg");
                using (var drawn = FaceOutput.Draw(image, found)) ImageFiles.Write(target, drawn);
                if (parse.GetValue(json)) foreach (var f in found) io.Out.WriteLine(FaceOutput.JsonLine(f));
                io.Err.WriteLine($"{found.Count} faces in {sw.Elapsed.TotalMilliseconds:0} ms ({options.Detector}); wrote {target}");
                return 0;
            }
            // A video: faces as tracked boxes through the video pipeline.
            using var source = FrameSources.Open(path);
            string video = parse.GetValue(output) ?? Path.Combine("out", Path.GetFileNameWithoutExtension(path) + ".faces.mp4");
            using var sink = new VideoFileSink(video, File.Exists(path) ? path : null);
            var faceDetector = new FaceFrameDetector(faces, options with { Descriptors = false });
            // With --landmarks the 68 points are drawn on each frame before it is written (boxes are tracked as usual).
            var sinks = new List<IFrameSink> { options.Landmarks ? new LandmarkDrawingSink(sink, faceDetector) : sink };
            if (parse.GetValue(json)) sinks.Add(new JsonLinesSink(io.Out));
            var stats = await new VideoPipeline(source, faceDetector, sinks,
                new PipelineOptions(MaxFrames: parse.GetValue(maxFrames), ClassCount: 1)).RunAsync(cancellationToken: ct);
            io.Err.WriteLine(stats.ToString());
            io.Err.WriteLine($"wrote {video}");
            return 0;
        });
        return command;
    }

    /// <summary><c>bench faces</c>: per-image milliseconds for detection, landmarks and descriptors.</summary>
    public static Command Bench(CliIO io)
    {
        var models = Models();
        var images = new Option<string>("--images") { Description = "folder of photos", DefaultValueFactory = _ => "data/faces" };
        var threads = new Option<int>("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var runs = new Option<int>("--runs") { Description = "timed passes over the photos", DefaultValueFactory = _ => 3 };
        var json = BenchJson.Option();
        var command = new Command("faces", "Per-photo ms of the face networks (tiny detector; SSD + landmarks + descriptors).") { models, images, threads, runs, json };
        command.SetAction(parse =>
        {
            string dir = parse.GetValue(images)!;
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir} not found. Run `movingimages fetch faces` (it brings the sample photos) or pass --images.");
            var files = Directory.GetFiles(dir, "*.jpg").Order(StringComparer.Ordinal).ToArray();
            if (files.Length == 0) throw new FileNotFoundException($"no .jpg photos in {dir}");
            TorchRuntime.SetThreads(parse.GetValue(threads));
            using var faces = Faces.Load(parse.GetValue(models)!, TorchSharp.torch.CPU);
            var photos = files.Select(ImageFiles.Read).ToList();
            try
            {
                int n = Math.Max(1, parse.GetValue(runs));
                double Time(Action<OpenCvSharp.Mat> step)
                {
                    foreach (var p in photos) step(p); // warm-up
                    var sw = Stopwatch.StartNew();
                    for (int r = 0; r < n; r++) foreach (var p in photos) step(p);
                    return sw.Elapsed.TotalMilliseconds / (n * photos.Count);
                }
                double tiny = Time(p => faces.Tiny.Detect(p));
                double ssd = Time(p => faces.Ssd.Detect(p));
                var boxes = photos.Select(p => faces.Ssd.Detect(p)).ToArray();
                int faceCount = boxes.Sum(b => b.Count);
                double landmarks = Time(p => { foreach (var f in boxes[photos.IndexOf(p)]) faces.LandmarkNet.Detect(p, f.Box); });
                var marks = photos.Select((p, i) => boxes[i].Select(f => faces.LandmarkNet.Detect(p, f.Box)).ToArray()).ToArray();
                double descriptors = Time(p => { foreach (var m in marks[photos.IndexOf(p)]) faces.RecognitionNet.Describe(p, m); });
                var table = new Table().AddColumns("step", "ms per photo");
                table.AddRow("tiny face detector (416)", $"{tiny:0.0}");
                table.AddRow("SSD-MobileNetV1", $"{ssd:0.0}");
                table.AddRow($"68 landmarks ({faceCount} faces)", $"{landmarks:0.0}");
                table.AddRow($"descriptors ({faceCount} faces)", $"{descriptors:0.0}");
                table.AddRow("SSD + landmarks + descriptors", $"{ssd + landmarks + descriptors:0.0}");
                io.Err.WriteLine($"{photos.Count} photos in {dir}, {TorchRuntime.Threads} threads, {n} runs");
                io.Console.Write(table);
                io.Out.WriteLine($"faces: tiny {tiny:0.0} ms/photo (face-api JS: 65–100), SSD+landmarks+descriptors {ssd + landmarks + descriptors:0.0} ms/photo (face-api JS: 400–600)");
                var figures = BenchJson.Start("faces");
                figures["photos"] = photos.Count;
                figures["faces"] = faceCount;
                figures["threads"] = TorchRuntime.Threads;
                figures["tiny_ms"] = BenchJson.Round(tiny);
                figures["ssd_ms"] = BenchJson.Round(ssd);
                figures["landmarks_ms"] = BenchJson.Round(landmarks);
                figures["descriptors_ms"] = BenchJson.Round(descriptors);
                figures["ssd_landmarks_descriptors_ms"] = BenchJson.Round(ssd + landmarks + descriptors);
                BenchJson.Write(parse.GetValue(json), figures);
            }
            finally
            {
                photos.ForEach(p => p.Dispose());
            }
            return 0;
        });
        return command;
    }
}
