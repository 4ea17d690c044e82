using MovingImages.Runtime;
using System.CommandLine;
using System.Diagnostics;
using MovingImages.FaceAnalysis;
using MovingImages.Imaging;
using MovingImages.Video;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages faces &lt;image|video&gt;</c> and <c>movingimages bench faces</c>.</summary>
internal static class FacesCommand
{
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
        var models = SharedOptions.FaceModels();
        var detector = Detector();
        var minScore = new Option<float>("--min-score") { Description = "minimum detector score", DefaultValueFactory = _ => FaceOptions.Default.MinScore };
        var landmarks = new Option<bool>("--landmarks") { Description = "find the 68 landmarks" };
        var descriptors = new Option<bool>("--descriptors") { Description = "compute 128-d descriptors (implies --landmarks)" };
        var json = new Option<bool>("--json") { Description = "print one JSON object per face per line on stdout" };
        var output = new Option<string?>("--out") { Description = "annotated image or video (default: out/<name>.faces.jpg|.mp4)" };
        var maxFrames = new Option<int?>("--max-frames") { Description = "video: stop after N frames" };
        var precision = SharedOptions.Precision();
        var command = new Command("faces", "Detect faces, their landmarks and descriptors with face-api's networks on TorchSharp.")
        {
            input, models, detector, minScore, landmarks, descriptors, json, output, maxFrames, precision,
        };
        command.SetAction(async (parse, ct) =>
        {
            string path = parse.GetValue(input)!;
            var options = new FaceOptions(Kind(parse.GetValue(detector)!), parse.GetValue(minScore), Landmarks: parse.GetValue(landmarks) || parse.GetValue(descriptors), Descriptors: parse.GetValue(descriptors));
            using var faces = Faces.Load(parse.GetValue(models)!, precision: PrecisionExtensions.Parse(parse.GetValue(precision)!));
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
}
