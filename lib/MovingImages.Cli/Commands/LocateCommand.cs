using System.CommandLine;
using MovingImages.Imaging;
using MovingImages.IO;
using MovingImages.ObjectDetection;
using MovingImages.Runtime;
using Spectre.Console;
using TorchSharp;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages locate &lt;image&gt;</c>: detect objects, write the annotated image, print or JSON-print the detections.</summary>
internal static class LocateCommand
{
    static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp" };

    public static Command Create(CliIO io)
    {
        var input = new Argument<string>("input") { Description = "an image file" };
        var cfg = SharedOptions.Cfg();
        var weights = SharedOptions.Weights();
        var names = SharedOptions.Names();
        var size = SharedOptions.Size();
        var conf = SharedOptions.Conf();
        var nms = SharedOptions.Nms();
        var threads = SharedOptions.Threads();
        var device = SharedOptions.Device();
        var outPath = new Option<string?>("--out") { Description = "annotated image to write (default: out/<name>.annotated.jpg)" };
        var json = new Option<bool>("--json") { Description = "print one JSON object per detection per line on stdout" };
        var dump = new Option<string?>("--dump") { Description = "also write input.npy and head<N>.npy (raw, before any logistic) into this folder" };
        var command = new Command("locate", "Detect objects in an image with YOLOv3 and draw labelled boxes.")
        {
            input, cfg, weights, names, size, conf, nms, threads, device, outPath, json, dump,
        };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(input)!;
            if (!File.Exists(path) && !Directory.Exists(path)) throw new FileNotFoundException($"Input not found: {path}", path);
            if (!ImageExtensions.Contains(Path.GetExtension(path)))
                throw new ArgumentException($"{path}: not an image file ({string.Join(", ", ImageExtensions)}); video and camera input are not supported yet");
            string cfgPath = parse.GetValue(cfg)!, weightsPath = parse.GetValue(weights)!;
            SharedOptions.RequireFile(cfgPath, "Darknet config");
            SharedOptions.RequireFile(weightsPath, "Darknet weights");
            var options = new YoloOptions(parse.GetValue(size), parse.GetValue(conf), parse.GetValue(nms)).Validate();
            TorchRuntime.SetThreads(parse.GetValue(threads));
            using var yolo = Yolo.Load(cfgPath, weightsPath, parse.GetValue(names), TorchRuntime.ParseDevice(parse.GetValue(device)));
            using var result = yolo.Detect(path, options);

            string target = parse.GetValue(outPath) ?? Path.Combine("out", Path.GetFileNameWithoutExtension(path) + ".annotated.jpg");
            result.Save(target);
            if (parse.GetValue(dump) is { } dumpDir) Dump(yolo, result, options, dumpDir, io);

            if (parse.GetValue(json))
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
            return 0;
        });
        return command;
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
