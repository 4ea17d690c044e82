using System.CommandLine;
using MovingImages.Diagnostics;
using MovingImages.Runtime;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages soak</c>: every TorchSharp path in one process, under GC pressure, checked for non-finite values.</summary>
internal static class SoakCommand
{
    public static Command Create(CliIO io)
    {
        var seconds = new Option<double>("--seconds") { Description = "how long to run", DefaultValueFactory = _ => 300 };
        var cfg = new Option<string>("--cfg") { Description = "darknet config of the detector", DefaultValueFactory = _ => "weights/yolov3-tiny.cfg" };
        var weights = new Option<string?>("--weights") { Description = "its weights (default: synthetic, generated in memory)" };
        var video = new Option<string>("--video") { Description = "video for the detector", DefaultValueFactory = _ => "data/video/vtest.avi" };
        var scene = new Option<string>("--scene") { Description = "video with faces (face networks, training faces, conversion)", DefaultValueFactory = _ => "data/video/Megamind.avi" };
        var faces = new Option<string>("--faces") { Description = "face-api model folder ('none': leave the face networks and conversion out)", DefaultValueFactory = _ => "weights/face-api" };
        var quiet = new Option<bool>("--no-gc-pressure") { Description = "do not force collections and finalizers meanwhile" };
        var size = SharedOptions.Size();
        size.DefaultValueFactory = _ => 320;
        var threads = SharedOptions.Threads();
        var command = new Command("soak", "Run YOLO, the face networks, fp32 and bf16 training and conversion round after round in one process, under GC pressure; exit 1 at any non-finite result.")
        {
            seconds, cfg, weights, video, scene, faces, quiet, size, threads,
        };
        command.SetAction(async (parse, ct) =>
        {
            TorchRuntime.SetThreads(parse.GetValue(threads));
            string faceDir = parse.GetValue(faces)!;
            var options = new SoakOptions(parse.GetValue(cfg)!, parse.GetValue(weights), parse.GetValue(video)!, parse.GetValue(scene)!,
                faceDir == "none" ? null : faceDir, TimeSpan.FromSeconds(parse.GetValue(seconds)), !parse.GetValue(quiet), parse.GetValue(size)).Validate();
            var lastShown = TimeSpan.Zero;
            var report = await Task.Run(() => Soak.Run(options, new InlineProgress<SoakReport>(r =>
            {
                if (r.Elapsed - lastShown < TimeSpan.FromSeconds(10)) return;
                lastShown = r.Elapsed;
                io.Err.WriteLine(r.ToString());
            }), ct));
            io.Out.WriteLine(report.ToString());
            foreach (var problem in report.Problems) io.Err.WriteLine($"non-finite: {problem}");
            return report.Healthy ? 0 : 1;
        });
        return command;
    }
}
