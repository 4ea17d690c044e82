using OpenCvSharp;
using MovingImages.FaceSwap;
using MovingImages.FaceAnalysis;
using System.CommandLine;
using MovingImages.Fetch;
using MovingImages.ObjectDetection;
using Spectre.Console;

namespace MovingImages.Cli.Commands;

/// <summary>
/// <c>movingimages demo</c>: fetch what the recipes need, run them on the samples, write results to out/, and say
/// plainly, part by part, what ran (on real or synthetic weights), what was skipped because its inputs could not be
/// fetched, and what failed. Exit 1 when a part failed or did not do its job.
/// </summary>
internal static class DemoCommand
{
    /// <summary>One part's line in the summary.</summary>
    internal sealed record PartReport(string Part, string Status, string Weights, string Detail)
    {
        /// <summary>Whether this part makes the demo fail: an exception, or a run that did not do its job.</summary>
        public bool Failed => Status is "FAILED" or "NOT BETTER";
    }

    public static Command Create(CliIO io)
    {
        var from = SharedOptions.From();
        var root = new Option<string>("--root") { Description = "project folder holding weights/, data/ and out/", DefaultValueFactory = _ => "." };
        var offline = SharedOptions.Offline();
        var model = new Option<string>("--model") { Description = $"the YOLO model: {string.Join(", ", YoloFiles.KnownModels.Keys)}", DefaultValueFactory = _ => "yolov3" };
        var fakeSteps = new Option<int>("--fakevideo-iterations")
        {
            Description = $"training steps of the fake-video part (0 skips it; the classroom preset's {FaceSwap.FaceSwapPreset.Classroom.Iterations} take ≈2¼ min on a 2-core CPU)",
            DefaultValueFactory = _ => FaceSwap.FaceSwapPreset.Classroom.Iterations,
        };
        var command = new Command("demo", "Fetch inputs and run the recipes on the sample media; results go to out/.") { from, root, offline, model, fakeSteps };
        command.SetAction(async (parse, ct) =>
        {
            string dir = parse.GetValue(root)!;
            var report = new List<PartReport>();
            io.Err.WriteLine("Fetching inputs…");
            var outcomes = await FetchCommand.FetchAsync(io, FetchManifest.Select(FetchManifest.RecipeGroups), dir, parse.GetValue(from), force: false, parse.GetValue(offline), ct);
            var inputs = new DemoInputs(outcomes);

            await Part(io, report, 1, "locate objects (YOLOv3 on photos and a video)", () => LocateAsync(io, dir, parse.GetValue(model)!, inputs, ct), ct);
            await Part(io, report, 2, "faces (face-api networks)", () => Task.FromResult(FacesPart(io, dir, inputs, ct)), ct);
            int fakeIterations = parse.GetValue(fakeSteps);
            await Part(io, report, 3, "fake video (faceswap on Megamind.avi)", async () =>
            {
                if (fakeIterations <= 0) return [new("fake video (faceswap on Megamind.avi)", "SKIPPED", "", "--fakevideo-iterations 0")];
                if (inputs.Missing("face-api-1.7.15.tgz", "Megamind.avi") is { } why) return [new("fake video (faceswap on Megamind.avi)", "SKIPPED", "", why)];
                var (status, detail) = await FakeVideoPartAsync(io, dir, inputs.Path("Megamind.avi"), fakeIterations, ct);
                return [new("fake video (faceswap on Megamind.avi)", status, "trained here", detail)];
            }, ct);

            var table = new Table().AddColumns("part", "status", "weights", "detail");
            foreach (var r in report) table.AddRow(Markup.Escape(r.Part), Markup.Escape(r.Status), Markup.Escape(r.Weights), Markup.Escape(r.Detail));
            io.Console.Write(table);
            foreach (var r in report) io.Out.WriteLine($"{r.Part}: {r.Status}{(r.Weights.Length > 0 ? $" [{r.Weights}]" : "")}{(r.Detail.Length > 0 ? " — " + r.Detail : "")}");
            return report.Any(r => r.Failed) ? 1 : 0;
        });
        return command;
    }

    /// <summary>Runs one part with a heading; an exception becomes a FAILED line (the other parts still run), never a crash.</summary>
    static async Task Part(CliIO io, List<PartReport> report, int number, string name, Func<Task<IReadOnlyList<PartReport>>> run, CancellationToken ct)
    {
        io.Err.WriteLine($"── part {number}/3: {name} ──");
        try
        {
            report.AddRange(await run());
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            io.Err.WriteLine($"  FAILED: {e.GetType().Name}: {e.Message}");
            report.Add(new(name, "FAILED", "", e.Message));
        }
    }

    /// <summary>What the fetch step brought, by file name.</summary>
    sealed class DemoInputs(IReadOnlyList<FetchOutcome> outcomes)
    {
        FetchOutcome Of(string name) => outcomes.First(o => o.Item.Name == name);
        public bool Have(string name) => Of(name).Ok;
        public string Path(string name) => Of(name).Path;
        /// <summary>Why some of <paramref name="names"/> are missing, or null when all are there.</summary>
        public string? Missing(params string[] names) =>
            names.All(Have) ? null : "inputs could not be fetched: " + string.Join("; ", names.Where(n => !Have(n)).Select(n => Of(n).Message));
    }

    static async Task<IReadOnlyList<PartReport>> LocateAsync(CliIO io, string dir, string model, DemoInputs inputs, CancellationToken ct)
    {
        const string photosPart = "locate objects (photos)", videoPart = "locate objects in video (+ SORT tracking)";
        var images = new[] { "dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg", "person.jpg", "messi5.jpg" };
        if (inputs.Missing(model + ".cfg", "coco.names") is { } missing)
            return [new(photosPart, "SKIPPED", "", missing), new(videoPart, "SKIPPED", "", "needs the files above")];
        string weightsFolder = System.IO.Path.Combine(dir, "weights");
        if (!File.Exists(System.IO.Path.Combine(weightsFolder, model + ".weights")))
            io.Err.WriteLine($"  no {model}.weights: making synthetic weights (calibrated on the sample photos)…");
        var files = YoloFiles.Find(model, weightsFolder, System.IO.Path.Combine(dir, "data", "images"));
        string weightsKind = files.Synthetic ? "SYNTHETIC (boxes meaningless)" : $"real ({model}.weights)";
        if (files.Synthetic) io.Err.WriteLine($"  {files.Describe()}");
        using var yolo = Yolo.Load(files.Cfg, files.Weights, files.Names);
        var present = images.Where(inputs.Have).ToArray();
        for (int i = 0; i < present.Length; i++)
        {
            ct.ThrowIfCancellationRequested();
            using var result = yolo.Detect(inputs.Path(present[i]));
            string target = System.IO.Path.Combine(dir, "out", System.IO.Path.GetFileNameWithoutExtension(present[i]) + ".annotated.jpg");
            result.Save(target);
            var shown = result.Detections.Take(5).Select(d => $"{d.Label} {d.Score:0.00}");
            io.Err.WriteLine($"  [{i + 1}/{present.Length}] {present[i]}: {result.Detections.Count} objects" +
                             $"{(result.Detections.Count > 0 ? $" ({string.Join(", ", shown)}{(result.Detections.Count > 5 ? ", …" : "")})" : "")} → {target}");
        }
        var absent = images.Except(present).ToArray();
        var photos = new PartReport(photosPart, absent.Length == 0 ? "ok" : "PARTIAL", weightsKind,
            absent.Length == 0 ? $"{images.Length} annotated images in out/" : $"missing samples: {string.Join(", ", absent)}");
        if (!inputs.Have("vtest.avi")) return [photos, new(videoPart, "SKIPPED", "", inputs.Missing("vtest.avi")!)];
        string video = System.IO.Path.Combine(dir, "out", "vtest.annotated.mp4");
        var stats = await LocateCommand.LocateVideoAsync(io, new Video.YoloFrameDetector(yolo), inputs.Path("vtest.avi"), video,
            new Video.PipelineOptions(MaxFrames: 200, ClassCount: yolo.Names.Count), json: false, jsonFile: null, show: false, folderFps: 25, ct);
        bool complete = stats.FramesOut > 0 && !stats.Cancelled;
        return [photos, new(videoPart, complete ? "ok" : "FAILED", weightsKind, $"{stats.FramesOut} frames at {stats.Fps:0.0} fps → {video}")];
    }

    static IReadOnlyList<PartReport> FacesPart(CliIO io, string dir, DemoInputs inputs, CancellationToken ct)
    {
        const string part = "faces (face-api networks)";
        if (inputs.Missing("face-api-1.7.15.tgz") is { } missing) return [new(part, "SKIPPED", "", missing)];
        string folder = System.IO.Path.Combine(dir, "data", "faces");
        var photos = Directory.Exists(folder) ? Directory.GetFiles(folder, "*.jpg").Order(StringComparer.Ordinal).ToArray() : [];
        if (photos.Length == 0) return [new(part, "SKIPPED", "", "no photos in data/faces")];
        using var faces = FaceAnalysis.Faces.Load(System.IO.Path.Combine(dir, FaceAnalysis.Faces.DefaultDirectory));
        int total = 0;
        for (int i = 0; i < photos.Length; i++)
        {
            ct.ThrowIfCancellationRequested();
            using var image = Imaging.ImageFiles.Read(photos[i]);
            var found = faces.DetectFaces(image);
            total += found.Count;
            using var drawn = FaceAnalysis.FaceOutput.Draw(image, found);
            string target = System.IO.Path.Combine(dir, "out", System.IO.Path.GetFileNameWithoutExtension(photos[i]) + ".faces.jpg");
            Imaging.ImageFiles.Write(target, drawn);
            io.Err.WriteLine($"  [{i + 1}/{photos.Length}] {System.IO.Path.GetFileName(photos[i])}: {found.Count} faces → {target}");
        }
        return [new(part, "ok", "face-api (pretrained)", $"{total} faces with landmarks in {photos.Length} photos → out/*.faces.jpg")];
    }

    /// <summary>
    /// The demo's fake-video part on Megamind.avi: the woman's face becomes the man's in her shots, the background man is
    /// left alone by the face filter, the sound is kept. The classroom preset (<see cref="FaceSwapPreset.Classroom"/>: 64 px,
    /// 32 filters, 256-wide bottleneck, bf16) trained <paramref name="iterations"/> steps, so it finishes in minutes on a
    /// CPU; the identity probe says how far the swap got. Writes under <c>&lt;root&gt;/out/faceit/</c> (notebook 02 uses
    /// <c>out/notebook-02/</c>); returns the report line.
    /// </summary>
    internal static async Task<(string Status, string Detail)> FakeVideoPartAsync(CliIO io, string root, string video, int iterations, CancellationToken ct)
    {
        var faceit = new FaceIt("woman_to_man", "woman", "man", Path.Combine(root, "out", "faceit"))
        {
            FaceModels = Path.GetFullPath(Path.Combine(root, Faces.DefaultDirectory)),
            ModelOptions = FaceSwapPreset.Classroom.ModelOptions,
            FilterThreshold = 0.465f, // these animated faces are closer to each other than photographs (dlib's 0.6)
            CropSize = 128,
        };
        faceit.Add("woman", video);
        faceit.Add("man", video);
        faceit.SetPersonPhoto("woman", video, 70, new Rect(200, 170, 220, 230)); // her face; a man stands behind her
        faceit.SetPersonPhoto("man", video, 120);
        foreach (var s in await Task.Run(() => faceit.Preprocess(5, cancellationToken: ct), ct))
            io.Err.WriteLine($"  {s.Person}: {s.Faces} faces from {s.Frames} frames, {s.Rejected} other faces skipped");
        // bf16 (AVX-512 BF16 through oneDNN): 1.47× fp32's samples/s here, the same loss after 200 steps on these faces (0.1913 vs 0.1909)
        var options = FaceSwapPreset.Classroom.TrainingOptions() with { PreviewEvery = iterations };
        IdentityScore before, after;
        using (var probe = await Task.Run(() => faceit.IdentityProbe(everyNthFrame: 10), ct))
        {
            // the model training starts from (seeded: the same figure run after run; unseeded it drew whatever the global generator held)
            using (var untrained = FaceSwapModel.Initial(faceit.ModelOptions, options.Seed)) before = probe.Measure(untrained);
            using var session = faceit.OpenTraining(options);
            await FakeVideoCommand.TrainingProgress(io, iterations, report => Task.Run(() => session.Train(iterations, report, ct), ct));
            after = session.MeasureIdentity(probe);
            io.Err.WriteLine($"  identity: her faces are {probe.Original.ToTarget:0.000} from him; converted by the untrained model {before.ToTarget:0.000}, by the trained one {after.ToTarget:0.000} ({after.ToSource:0.000} from her)");
        }
        var (output, stats) = await Task.Run(() => faceit.Convert(video, cancellationToken: ct), ct);
        return (IdentityVerdict(before, after), $"{iterations} steps; her converted faces {before.ToTarget:0.00} → {after.ToTarget:0.00} from him (lower is more like him); " +
                      $"{stats.Frames} frames, {stats.FacesSwapped} of {stats.FacesSeen} faces swapped, audio {stats.Audio} → {output}; preview {faceit.PreviewPath}");
    }

    /// <summary>"ok" when training moved the converted faces towards the target person; "NOT BETTER" otherwise (a run that
    /// made identity worse, or left it where it was, is not a success, whatever else worked).</summary>
    internal static string IdentityVerdict(IdentityScore untrained, IdentityScore trained) => trained.MovedTowardsTargetFrom(untrained) ? "ok" : "NOT BETTER";
}
