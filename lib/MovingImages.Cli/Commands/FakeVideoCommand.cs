using System.CommandLine;
using MovingImages.FaceAnalysis;
using MovingImages.FaceSwap;
using MovingImages.Runtime;
using Spectre.Console;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages fakevideo summary|preprocess|train|convert</c> (the benchmark: <see cref="BenchFakeVideoCommand"/>).</summary>
internal static class FakeVideoCommand
{
    public static Command Create(CliIO io)
    {
        var command = new Command("fakevideo", "The faceswap recipe: model summary, preprocess, train, convert (FaceIt).");
        var size = SharedOptions.FaceSwapSize();
        var dim = SharedOptions.FaceSwapEncoderDim();
        var filters = SharedOptions.FaceSwapFilters();
        var summary = new Command("summary", "Print the autoencoder's layers, shapes and parameter counts.") { size, dim, filters };
        summary.SetAction(parse =>
        {
            using var model = new FaceSwapModel(new FaceSwapModelOptions(parse.GetValue(size), parse.GetValue(dim), parse.GetValue(filters)));
            io.Out.Write(model.Summary());
            return 0;
        });
        command.Subcommands.Add(summary);

        // preprocess / train / convert share the FaceIt project options
        var name = new Option<string>("--name") { Description = "model name", Required = true };
        var personA = new Option<string>("--person-a") { Description = "the person whose face is replaced", Required = true };
        var personB = new Option<string>("--person-b") { Description = "the person whose face is put in", Required = true };
        var root = new Option<string>("--root") { Description = "project folder (data/ lives there)", DefaultValueFactory = _ => "." };
        var models = SharedOptions.FaceModels();
        var threshold = new Option<float>("--filter-threshold") { Description = "same-person distance", DefaultValueFactory = _ => FaceRecognitionNet.SamePersonDistance };
        FaceIt Project(ParseResult p) => new(p.GetValue(name)!, p.GetValue(personA)!, p.GetValue(personB)!, p.GetValue(root)!)
        {
            FaceModels = Path.GetFullPath(p.GetValue(models)!), // a path on the command line is relative to where the user is, not to --root
            ModelOptions = new FaceSwapModelOptions(p.GetValue(size), p.GetValue(dim), p.GetValue(filters)),
            FilterThreshold = p.GetValue(threshold),
        };

        var videosA = new Option<string[]>("--videos-a") { Description = "videos of person A", Required = true, AllowMultipleArgumentsPerToken = true };
        var videosB = new Option<string[]>("--videos-b") { Description = "videos of person B", Required = true, AllowMultipleArgumentsPerToken = true };
        var every = new Option<int>("--every") { Description = "use every N-th frame", DefaultValueFactory = _ => 1 };
        var preprocess = new Command("preprocess", "Detect, filter and align both people's faces into data/processed/<person>/.")
        { name, personA, personB, root, models, threshold, size, dim, filters, videosA, videosB, every };
        preprocess.SetAction((parse, ct) =>
        {
            var faceit = Project(parse);
            foreach (var v in parse.GetValue(videosA)!) faceit.Add(faceit.PersonA, v);
            foreach (var v in parse.GetValue(videosB)!) faceit.Add(faceit.PersonB, v);
            foreach (var s in faceit.Preprocess(parse.GetValue(every), new Progress<string>(io.Err.WriteLine), ct))
                io.Out.WriteLine($"{s.Person}: {s.Faces} faces from {s.Frames} frames, {s.Rejected} other faces skipped");
            return Task.FromResult(0);
        });
        command.Subcommands.Add(preprocess);

        var iterations = new Option<int>("--iterations") { Description = "training steps", DefaultValueFactory = _ => 1000 };
        var batch = new Option<int>("--batch") { Description = "faces per person per step", DefaultValueFactory = _ => TrainingOptions.Default.BatchSize };
        var lr = new Option<double>("--lr") { Description = "learning rate", DefaultValueFactory = _ => TrainingOptions.Default.LearningRate };
        var seed = new Option<int>("--seed") { Description = "augmentation seed", DefaultValueFactory = _ => TrainingOptions.Default.Seed };
        var precision = new Option<string>("--precision")
        { Description = "fp32; bf16 (mixed precision: fast on CPUs with AVX512-BF16/AMX and on GPUs); fp16 (mixed, loss scaling; GPUs only, slow on CPUs)", DefaultValueFactory = _ => "fp32" };
        var previewEvery = new Option<int>("--preview-every") { Description = "write data/models/<name>/preview.png every N steps (0: never)", DefaultValueFactory = _ => 100 };
        var identityEvery = new Option<int>("--identity-every") { Description = "every N steps, measure how much A's converted faces look like B (needs --identity-video and data/persons photos)", DefaultValueFactory = _ => 0 };
        var identityVideo = new Option<string?>("--identity-video") { Description = "video of A for --identity-every (frames between the preprocessed ones)" };
        var train = new Command("train", "Train (or resume) the autoencoder; checkpoints and preview in data/models/<name>/.")
        { name, personA, personB, root, models, threshold, size, dim, filters, iterations, batch, lr, seed, precision, previewEvery, identityEvery, identityVideo };
        train.SetAction(async (parse, ct) =>
        {
            var faceit = Project(parse);
            var options = new TrainingOptions(parse.GetValue(batch), parse.GetValue(lr), Seed: parse.GetValue(seed),
                Precision: PrecisionExtensions.Parse(parse.GetValue(precision)!), PreviewEvery: parse.GetValue(previewEvery));
            int total = parse.GetValue(iterations), every = parse.GetValue(identityEvery);
            string? identityVideoPath = parse.GetValue(identityVideo);
            if (every > 0 && identityVideoPath == null) throw new ArgumentException("--identity-every needs --identity-video (a video of person A)");
            if (identityVideoPath != null) faceit.Add(faceit.PersonA, identityVideoPath);
            using var probe = every > 0 ? faceit.IdentityProbe() : null;
            using var session = faceit.OpenTraining(options);
            string Describe(IdentityScore s) => $"distance to {faceit.PersonB} {s.ToTarget:0.000}, to {faceit.PersonA} {s.ToSource:0.000} ({s.Faces} faces)";
            if (probe != null)
            {
                io.Err.WriteLine($"identity probe: {probe.Count} faces of {faceit.PersonA}; unconverted: {Describe(probe.Original)}");
                io.Out.WriteLine($"identity at the start ({(session.Resumed ? "the checkpoint" : "untrained")}): {Describe(session.MeasureIdentity(probe))}");
                session.IdentityMeasured += m => io.Out.WriteLine($"identity at iteration {m.Iteration}: {Describe(m.Score)}");
            }
            IReadOnlyList<TrainingStep> steps = [];
            await TrainingProgress(io, total, report => Task.Run(() => steps = session.Train(total, report, ct, probe, every)));
            if (steps.Count > 0)
            {
                var last = steps[^1];
                io.Out.WriteLine($"{(ct.IsCancellationRequested ? "stopped at" : "trained to")} iteration {last.Iteration}: loss A {last.LossA:0.0000}, loss B {last.LossB:0.0000}; checkpoint {faceit.CheckpointPath}" +
                    (options.PreviewEvery > 0 && File.Exists(faceit.PreviewPath) ? $", preview {faceit.PreviewPath}" : ""));
            }
            return ct.IsCancellationRequested ? 130 : 0; // 130: stopped by Ctrl+C, the checkpoint holds the step reached
        });
        command.Subcommands.Add(train);

        var video = new Argument<string>("video") { Description = "the video to convert" };
        var noFilter = new Option<bool>("--no-face-filter") { Description = "swap every face, not only person A's" };
        var photos = new Option<bool>("--photos") { Description = "also write the converted frames as PNG" };
        var start = new Option<double>("--start") { Description = "start at this many seconds", DefaultValueFactory = _ => 0 };
        var duration = new Option<double?>("--duration") { Description = "convert this many seconds" };
        var sideBySide = new Option<bool>("--side-by-side") { Description = "write original | converted" };
        var seamless = new Option<bool>("--seamless") { Description = "seamless (Poisson) cloning instead of alpha blending" };
        var convert = new Command("convert", "Swap person A's face for person B's in a video, keeping its sound; output in data/output/.")
        { video, name, personA, personB, root, models, threshold, size, dim, filters, noFilter, photos, start, duration, sideBySide, seamless };
        convert.SetAction((parse, ct) =>
        {
            var faceit = Project(parse);
            var options = new ConvertOptions(Blend: parse.GetValue(seamless) ? BlendMode.Seamless : BlendMode.Alpha, Start: parse.GetValue(start),
                Duration: parse.GetValue(duration), SideBySide: parse.GetValue(sideBySide), Photos: parse.GetValue(photos), OnlySourcePerson: !parse.GetValue(noFilter));
            var (output, stats) = faceit.Convert(parse.GetValue(video)!, options, cancellationToken: ct);
            io.Out.WriteLine($"wrote {output}: {stats.Frames} frames, {stats.FacesSwapped} of {stats.FacesSeen} faces swapped, audio {stats.Audio}");
            return Task.FromResult(0);
        });
        command.Subcommands.Add(convert);
        return command;
    }

    /// <summary>
    /// Runs <paramref name="train"/> with a progress display of iteration, losses and samples/s: a Spectre progress bar on
    /// a terminal, a line every 10 steps otherwise (logs, CI).
    /// </summary>
    internal static async Task TrainingProgress(CliIO io, int total, Func<IProgress<TrainingStep>, Task> train)
    {
        static string Line(TrainingStep s) => $"iteration {s.Iteration} · loss A {s.LossA:0.0000} · loss B {s.LossB:0.0000} · {s.SamplesPerSecond:0.0} samples/s" +
            (s.Skipped > 0 ? $" · {s.Skipped} fp16 overflow skipped" : "");
        if (!io.Console.Profile.Capabilities.Interactive)
        {
            int seen = 0;
            await train(new InlineProgress<TrainingStep>(s => { if (++seen % 10 == 0 || seen == total) io.Err.WriteLine(Line(s)); }));
            return;
        }
        await io.Console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("training", maxValue: total);
                await train(new InlineProgress<TrainingStep>(s =>
                {
                    task.Increment(1);
                    task.Description = Line(s);
                }));
            });
    }
}
