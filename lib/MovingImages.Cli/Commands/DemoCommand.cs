using System.CommandLine;
using MovingImages.Fetch;
using MovingImages.ObjectDetection;
using Spectre.Console;

namespace MovingImages.Cli.Commands;

/// <summary>
/// <c>movingimages demo</c>: fetch what the recipes need, run them on the samples, write results to out/, and say
/// plainly which parts could not run because their inputs could not be fetched.
/// </summary>
internal static class DemoCommand
{
    public static Command Create(CliIO io)
    {
        var from = SharedOptions.From();
        var root = new Option<string>("--root") { Description = "project folder holding weights/, data/ and out/", DefaultValueFactory = _ => "." };
        var offline = SharedOptions.Offline();
        var fakeSteps = new Option<int>("--fakevideo-iterations") { Description = "training steps of the fake-video part (0 skips it; ≈1 min per 1000 on a 2-core CPU)", DefaultValueFactory = _ => 1000 };
        var command = new Command("demo", "Fetch inputs and run the recipes on the sample media; results go to out/.") { from, root, offline, fakeSteps };
        command.SetAction(async (parse, ct) =>
        {
            string dir = parse.GetValue(root)!;
            var report = new List<(string Part, string Status, string Detail)>();
            io.Err.WriteLine("Fetching inputs…");
            var outcomes = await FetchCommand.FetchAsync(io, FetchManifest.Group("all"), dir, parse.GetValue(from), force: false, parse.GetValue(offline), ct);
            string P(string name) => outcomes.First(o => o.Item.Name == name).Path;
            bool Have(string name) => outcomes.First(o => o.Item.Name == name).Ok;
            string Why(string name) => outcomes.First(o => o.Item.Name == name).Message ?? "";

            // Recipe 1: locate objects in the sample photos with YOLOv3.
            var images = new[] { "dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg", "person.jpg", "messi5.jpg" };
            if (!Have("yolov3.cfg") || !Have("yolov3.weights") || !Have("coco.names"))
            {
                string missing = string.Join("; ", new[] { "yolov3.cfg", "yolov3.weights", "coco.names" }.Where(n => !Have(n)).Select(Why));
                report.Add(("locate objects (YOLOv3)", "SKIPPED", $"inputs could not be fetched: {missing}"));
                report.Add(("locate objects in video (YOLOv3 + SORT)", "SKIPPED", "needs the YOLOv3 files above"));
            }
            else
            {
                using var yolo = Yolo.Load(P("yolov3.cfg"), P("yolov3.weights"), P("coco.names"));
                foreach (var name in images.Where(Have))
                {
                    ct.ThrowIfCancellationRequested();
                    using var result = yolo.Detect(P(name));
                    string target = Path.Combine(dir, "out", Path.GetFileNameWithoutExtension(name) + ".annotated.jpg");
                    result.Save(target);
                    io.Err.WriteLine($"  {name}: {string.Join(", ", result.Detections.Select(d => $"{d.Label} {d.Score:0.00}"))} → {target}");
                }
                var absent = images.Where(n => !Have(n)).ToArray();
                report.Add(("locate objects (YOLOv3)", absent.Length == 0 ? "ok" : "PARTIAL",
                    absent.Length == 0 ? $"{images.Length} annotated images in out/" : $"missing samples: {string.Join(", ", absent)}"));

                // Recipe 1, part 2: the same detector on a video, frame by frame, with tracking.
                if (Have("vtest.avi"))
                {
                    string target = Path.Combine(dir, "out", "vtest.annotated.mp4");
                    var stats = await LocateCommand.LocateVideoAsync(io, yolo, P("vtest.avi"), target,
                        new Video.PipelineOptions(MaxFrames: 200, ClassCount: yolo.Names.Count), json: false, jsonFile: null, show: false, folderFps: 25, ct);
                    report.Add(("locate objects in video (YOLOv3 + SORT)", "ok", $"{stats.FramesOut} frames at {stats.Fps:0.0} fps → {target}"));
                }
                else report.Add(("locate objects in video (YOLOv3 + SORT)", "SKIPPED", Why("vtest.avi")));
            }

            // Recipe 2, first stage: find, landmark and align the faces in the sample photos.
            var facePhotos = Directory.Exists(Path.Combine(dir, "data", "faces")) ? Directory.GetFiles(Path.Combine(dir, "data", "faces"), "*.jpg").Order(StringComparer.Ordinal).ToArray() : [];
            if (!Have("face-api-1.7.15.tgz") || facePhotos.Length == 0)
                report.Add(("faces (face-api networks)", "SKIPPED", Have("face-api-1.7.15.tgz") ? "no photos in data/faces" : Why("face-api-1.7.15.tgz")));
            else
            {
                using var faces = FaceAnalysis.Faces.Load(Path.Combine(dir, FaceAnalysis.Faces.DefaultDirectory));
                int total = 0;
                foreach (var photo in facePhotos)
                {
                    ct.ThrowIfCancellationRequested();
                    using var image = Imaging.ImageFiles.Read(photo);
                    var found = faces.DetectFaces(image);
                    total += found.Count;
                    using var drawn = FaceAnalysis.FaceOutput.Draw(image, found);
                    Imaging.ImageFiles.Write(Path.Combine(dir, "out", Path.GetFileNameWithoutExtension(photo) + ".faces.jpg"), drawn);
                }
                report.Add(("faces (face-api networks)", "ok", $"{total} faces with landmarks in {facePhotos.Length} photos → out/*.faces.jpg"));
            }

            // Recipe 2: the fake video on Megamind.avi (a small model, so that it finishes in minutes).
            const string fakePart = "fake video (faceswap on Megamind.avi)";
            int fakeIterations = parse.GetValue(fakeSteps);
            if (fakeIterations <= 0) report.Add((fakePart, "SKIPPED", "--fakevideo-iterations 0"));
            else if (!Have("face-api-1.7.15.tgz") || !Have("Megamind.avi"))
                report.Add((fakePart, "SKIPPED", string.Join("; ", new[] { "face-api-1.7.15.tgz", "Megamind.avi" }.Where(n => !Have(n)).Select(Why))));
            else
            {
                io.Err.WriteLine("Fake video: preprocess, train, measure, convert…");
                var (status, detail) = await FakeVideoCommand.DemoAsync(io, dir, P("Megamind.avi"), fakeIterations, ct);
                report.Add((fakePart, status, detail));
            }

            var table = new Table().AddColumns("part", "status", "detail");
            foreach (var (part, status, detail) in report) table.AddRow(Markup.Escape(part), Markup.Escape(status), Markup.Escape(detail));
            io.Console.Write(table);
            foreach (var (part, status, detail) in report) io.Out.WriteLine($"{part}: {status}{(detail.Length > 0 ? " — " + detail : "")}");
            return report.Any(r => r.Status == "NOT BETTER") ? 1 : 0; // a part that ran but did not work is a failed demo
        });
        return command;
    }
}
