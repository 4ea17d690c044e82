using System.CommandLine;
using System.Diagnostics;
using MovingImages.FaceAnalysis;
using MovingImages.FaceSwap;
using MovingImages.Runtime;
using OpenCvSharp;
using Spectre.Console;
using TorchSharp;
using Scalar = OpenCvSharp.Scalar;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages fakevideo summary|preprocess|train|convert</c> and <c>bench fakevideo</c>.</summary>
internal static class FakeVideoCommand
{
    static Option<int> Size() => new("--size") { Description = "face size the model sees", DefaultValueFactory = _ => FaceSwapModelOptions.Default.ImageSize };
    static Option<int> EncoderDim() => new("--encoder-dim") { Description = "width of the bottleneck", DefaultValueFactory = _ => FaceSwapModelOptions.Default.EncoderDim };
    static Option<int> Filters() => new("--filters") { Description = "filters of the first convolution", DefaultValueFactory = _ => FaceSwapModelOptions.Default.Filters };

    public static Command Create(CliIO io)
    {
        var command = new Command("fakevideo", "The faceswap recipe: model summary, preprocess, train, convert (FaceIt).");
        var size = Size();
        var dim = EncoderDim();
        var filters = Filters();
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
        var models = new Option<string>("--models") { Description = "face-api model folder", DefaultValueFactory = _ => Faces.DefaultDirectory };
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
            IdentityProbe? probe = null;
            if (every > 0)
            {
                var video = parse.GetValue(identityVideo) ?? throw new ArgumentException("--identity-every needs --identity-video (a video of person A)");
                faceit.Add(faceit.PersonA, video);
                probe = faceit.IdentityProbe();
                io.Err.WriteLine($"identity probe: {probe.Count} faces of {faceit.PersonA}; unconverted: {Describe(probe.Original)}");
                bool resumed = File.Exists(faceit.CheckpointPath);
                using var current = resumed ? faceit.LoadModel() : new FaceSwapModel(faceit.ModelOptions);
                io.Out.WriteLine($"identity at the start ({(resumed ? "the checkpoint" : "untrained")}): {Describe(probe.Measure(current))}");
            }
            string Describe(IdentityScore s) => $"distance to {faceit.PersonB} {s.ToTarget:0.000}, to {faceit.PersonA} {s.ToSource:0.000} ({s.Faces} faces)";
            using (probe)
            {
                TrainingStep? last = null;
                await TrainingProgress(io, total, async report =>
                {
                    for (int done = 0; done < total && !ct.IsCancellationRequested;)
                    {
                        int chunk = every > 0 ? Math.Min(every, total - done) : total;
                        var steps = await Task.Run(() => faceit.Train(chunk, options, report, ct));
                        if (steps.Count == 0) break;
                        done += steps.Count;
                        last = steps[^1];
                        if (probe != null && !ct.IsCancellationRequested)
                        {
                            using var model = faceit.LoadModel();
                            io.Out.WriteLine($"identity at iteration {last.Iteration}: {Describe(probe.Measure(model))}");
                        }
                    }
                });
                if (last != null)
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
            var (output, stats) = faceit.Convert(parse.GetValue(video)!, !parse.GetValue(noFilter), parse.GetValue(photos), parse.GetValue(start), parse.GetValue(duration),
                parse.GetValue(sideBySide), parse.GetValue(seamless) ? BlendMode.Seamless : BlendMode.Alpha, null, ct);
            io.Out.WriteLine($"wrote {output}: {stats.Frames} frames, {stats.FacesSwapped} of {stats.FacesSeen} faces swapped, audio {stats.Audio}");
            return Task.FromResult(0);
        });
        command.Subcommands.Add(convert);
        return command;
    }

    /// <summary>
    /// The demo's fake-video part on Megamind.avi: the woman's face becomes the man's in her shots, the background man is
    /// left alone by the face filter, the sound is kept. The classroom preset (<see cref="FaceSwapPreset.Classroom"/>: 64 px,
    /// 32 filters, 256-wide bottleneck, bf16) trained <paramref name="iterations"/> steps, so it finishes in minutes on a
    /// CPU; the identity probe says how far the swap got. Writes under <c>&lt;root&gt;/out/faceit/</c> (notebook 02 uses
    /// <c>out/notebook-02/</c>); returns the report line.
    /// </summary>
    internal static async Task<(string Status, string Detail)> DemoAsync(CliIO io, string root, string video, int iterations, CancellationToken ct)
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
            using (var untrained = new FaceSwapModel(faceit.ModelOptions)) before = probe.Measure(untrained);
            await TrainingProgress(io, iterations, report => Task.Run(() => faceit.Train(iterations, options, report, ct), ct));
            using var trained = faceit.LoadModel();
            after = probe.Measure(trained);
            io.Err.WriteLine($"  identity: her faces are {probe.Original.ToTarget:0.000} from him; converted by the untrained model {before.ToTarget:0.000}, by the trained one {after.ToTarget:0.000} ({after.ToSource:0.000} from her)");
        }
        var (output, stats) = await Task.Run(() => faceit.Convert(video, faceFilter: true, cancellationToken: ct), ct);
        return (IdentityVerdict(before, after), $"{iterations} steps; her converted faces {before.ToTarget:0.00} → {after.ToTarget:0.00} from him (lower is more like him); " +
                      $"{stats.Frames} frames, {stats.FacesSwapped} of {stats.FacesSeen} faces swapped, audio {stats.Audio} → {output}; preview {faceit.PreviewPath}");
    }

    /// <summary>"ok" when training moved the converted faces towards the target person; "NOT BETTER" otherwise (a run that
    /// made identity worse, or left it where it was, is not a success, whatever else worked).</summary>
    internal static string IdentityVerdict(IdentityScore untrained, IdentityScore trained) => trained.MovedTowardsTargetFrom(untrained) ? "ok" : "NOT BETTER";

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

    /// <summary><c>bench fakevideo</c>: training samples/s of the default model at batch 16 and 64, and conversion frames/s.</summary>
    /// <summary>The PyTorch peer script (beside this assembly: Peers/faceswap_peer.py).</summary>
    internal static string PeerScript => Path.Combine(AppContext.BaseDirectory, "Peers", "faceswap_peer.py");

    /// <summary>
    /// Runs the PyTorch peer on the same model sizes, batch sizes, precisions (fp32, bf16), steps and threads; returns
    /// samples/s by (batch, precision), or null after saying why the peer could not run (ours is measured either way).
    /// </summary>
    internal static Dictionary<(int Batch, Precision Precision), double>? PeerTraining(CliIO io, FaceSwapModelOptions options, IReadOnlyList<int> batches,
        IReadOnlyList<Precision> precisions, int steps, int threads)
    {
        var wanted = precisions.Where(p => p is Precision.Float32 or Precision.BFloat16).Select(p => p.ShortName()).ToArray();
        if (wanted.Length == 0) { io.Err.WriteLine("PyTorch peer skipped: it times fp32 and bf16 only"); return null; }
        // Debian's python3-torch lives under /usr/bin/python3; a python3 earlier on the PATH (pyenv, conda) may lack torch
        string python = Environment.GetEnvironmentVariable("MOVINGIMAGES_PEER_PYTHON") is { Length: > 0 } chosen ? chosen
            : File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { PeerScript, "--steps", $"{steps}", "--threads", $"{threads}", "--size", $"{options.ImageSize}",
                                  "--encoder-dim", $"{options.EncoderDim}", "--filters", $"{options.Filters}", "--batches" }.Concat(batches.Select(b => $"{b}"))
                                  .Append("--precision").Concat(wanted))
            start.ArgumentList.Add(a);
        io.Err.WriteLine($"PyTorch peer: {python} {Path.GetFileName(PeerScript)} (batches {string.Join(", ", batches)}, {string.Join(", ", wanted)}, {steps} steps, {threads} threads)…");
        try
        {
            using var process = Process.Start(start)!;
            var err = process.StandardError.ReadToEndAsync();
            var lines = new List<string>();
            while (process.StandardOutput.ReadLine() is { } line) lines.Add(line);
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                string why = err.Result.Contains("No module named 'torch'") ? $"{python} has no torch (Debian: apt-get install python3-torch)" : err.Result.Trim().Split('\n').LastOrDefault() ?? $"exit code {process.ExitCode}";
                io.Err.WriteLine($"PyTorch peer failed: {why}; ours is measured alone");
                return null;
            }
            var rates = new Dictionary<(int, Precision), double>();
            foreach (var line in lines)
            {
                var o = System.Text.Json.Nodes.JsonNode.Parse(line)!;
                rates[(o["batch"]!.GetValue<int>(), PrecisionExtensions.Parse(o["precision"]!.GetValue<string>()))] = o["samples_per_s"]!.GetValue<double>();
                io.Err.WriteLine($"  PyTorch {o["torch"]}: batch {o["batch"]}, {o["precision"]}: {o["samples_per_s"]} samples/s");
            }
            return rates;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or System.Text.Json.JsonException or InvalidOperationException or NullReferenceException)
        {
            io.Err.WriteLine($"PyTorch peer failed: {e.Message}; ours is measured alone");
            return null;
        }
    }

    public static Command Bench(CliIO io)
    {
        var threads = new Option<int>("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var steps = new Option<int>("--steps") { Description = "timed steps per batch size", DefaultValueFactory = _ => 3 };
        var size = Size();
        var dim = EncoderDim();
        var filters = Filters();
        var video = new Option<string>("--video") { Description = "video for the conversion timing", DefaultValueFactory = _ => "data/video/Megamind.avi" };
        var models = new Option<string>("--models") { Description = "face-api model folder", DefaultValueFactory = _ => Faces.DefaultDirectory };
        var frames = new Option<int>("--frames") { Description = "frames converted for the timing", DefaultValueFactory = _ => 48 };
        var batches = new Option<int[]>("--batches") { Description = "batch sizes timed", DefaultValueFactory = _ => [16, 64], AllowMultipleArgumentsPerToken = true };
        var precisions = new Option<string[]>("--precision") { Description = "precisions timed: fp32, bf16, fp16 (fp16 is for GPUs; ≈20× slower than fp32 on CPUs without float16 arithmetic)", DefaultValueFactory = _ => ["fp32", "bf16"], AllowMultipleArgumentsPerToken = true }; // fp16 on request: no float16 arithmetic on most CPUs (≈20× slower)
        var peer = new Option<bool>("--peer") { Description = "also train the same model in PyTorch (Debian's python3-torch; fp32 and bf16 autocast) on the same batch sizes, threads and steps, and print the ratio" };
        var json = BenchJson.Option();
        var command = new Command("fakevideo", "Training samples/s (batch 16 and 64; fp32, bf16 and fp16 mixed precision) of the autoencoder, next to PyTorch with --peer, and conversion frames/s.")
        { threads, steps, size, dim, filters, video, models, frames, batches, precisions, peer, json };
        command.SetAction(parse =>
        {
            TorchRuntime.SetThreads(parse.GetValue(threads));
            var options = new FaceSwapModelOptions(parse.GetValue(size), parse.GetValue(dim), parse.GetValue(filters));
            var rng = new Random(1);
            var faces = Enumerable.Range(0, 8).Select(_ =>
            {
                var m = new Mat(128, 128, MatType.CV_8UC3);
                Cv2.Randu(m, Scalar.All(0), Scalar.All(255));
                return m;
            }).ToList();
            var modes = parse.GetValue(precisions)!.Select(PrecisionExtensions.Parse).Distinct().ToArray();
            int stepCount = Math.Max(1, parse.GetValue(steps));
            var figures = BenchJson.Start("fakevideo");
            figures["model"] = new System.Text.Json.Nodes.JsonObject { ["image_size"] = options.ImageSize, ["encoder_dim"] = options.EncoderDim, ["filters"] = options.Filters };
            figures["threads"] = TorchRuntime.Threads;
            figures["steps"] = stepCount;
            var rows = new System.Text.Json.Nodes.JsonArray();
            figures["training"] = rows;
            // the peer first, on a quiet machine, so neither run shares the cores with the other
            var peerRates = parse.GetValue(peer) ? PeerTraining(io, options, parse.GetValue(batches)!, modes, stepCount, TorchRuntime.Threads) : null;
            var table = new Table().AddColumns("batch", "precision", "samples/s", "s/step", "vs fp32", "PyTorch samples/s", "ours / PyTorch");
            foreach (int b in parse.GetValue(batches)!)
            {
                double? reference = null;
                foreach (var precision in modes)
                {
                    torch.random.manual_seed(1);
                    using var model = new FaceSwapModel(options);
                    using var trainer = new FaceSwapTrainer(model, faces, faces, new TrainingOptions(BatchSize: b, Precision: precision), torch.CPU);
                    trainer.Step(); // warm-up
                    var sw = Stopwatch.StartNew();
                    for (int i = 0; i < stepCount; i++) trainer.Step();
                    double perStep = sw.Elapsed.TotalSeconds / stepCount, rate = 2 * b / perStep;
                    // the part of a step that is data, not network: both people's augmented batches (the peer has none)
                    var augment = Stopwatch.StartNew();
                    for (int i = 0; i < stepCount; i++)
                        using (torch.NewDisposeScope()) { trainer.Batch(true, i); trainer.Batch(false, i); }
                    double augmentPerStep = augment.Elapsed.TotalSeconds / stepCount, networkRate = 2 * b / (perStep - augmentPerStep);
                    if (precision == Precision.Float32) reference = rate;
                    string ratio = reference is { } r ? $"{rate / r:0.00}×" : "";
                    double? theirs = peerRates != null && peerRates.TryGetValue((b, precision), out var t) ? t : null;
                    table.AddRow($"{b}", precision.ShortName(), $"{rate:0.0}", $"{perStep:0.00}", ratio, theirs is { } p1 ? $"{p1:0.0}" : "", theirs is { } p2 ? $"{rate / p2:0.00}×" : "");
                    io.Out.WriteLine($"fakevideo: batch {b}, {precision.ShortName()}: {rate:0.0} samples/s ({perStep:0.00} s per step of A and B, of which {augmentPerStep:0.00} s augmentation; network alone {networkRate:0.0} samples/s){(ratio.Length > 0 ? $", {ratio} fp32" : "")}, loss A {trainer.History[^1].LossA:0.0000}, {TorchRuntime.Threads} threads" +
                                     (theirs is { } p3 ? $"; PyTorch (network alone) {p3:0.0} samples/s, ours {rate / p3:0.00}× with augmentation, {networkRate / p3:0.00}× network alone" : ""));
                    rows.Add(new System.Text.Json.Nodes.JsonObject
                    {
                        ["batch"] = b, ["precision"] = precision.ShortName(), ["samples_per_s"] = BenchJson.Round(rate), ["s_per_step"] = BenchJson.Round(perStep, 4),
                        ["augment_s_per_step"] = BenchJson.Round(augmentPerStep, 4), ["network_samples_per_s"] = BenchJson.Round(networkRate),
                        ["peer_samples_per_s"] = theirs is { } p4 ? BenchJson.Round(p4) : null, ["ratio_to_peer"] = theirs is { } p5 ? BenchJson.Round(rate / p5, 3) : null,
                    });
                }
            }
            io.Console.Write(table);
            faces.ForEach(f => f.Dispose());

            string videoPath = parse.GetValue(video)!, modelDir = parse.GetValue(models)!;
            if (!File.Exists(videoPath) || !File.Exists(Path.Combine(modelDir, SsdMobilenetv1.ManifestName)))
            {
                io.Err.WriteLine($"conversion timing skipped: needs {videoPath} and the face models in {modelDir} (movingimages fetch samples faces)");
                BenchJson.Write(parse.GetValue(json), figures);
                return 0;
            }
            torch.random.manual_seed(1);
            using (var model = new FaceSwapModel(options))
            using (var faceNets = Faces.Load(modelDir, torch.CPU))
            {
                var converter = new FaceSwapConverter(model, faceNets);
                string output = Path.Combine(Path.GetTempPath(), $"movingimages-bench-{Environment.ProcessId}.mp4");
                double seconds = Math.Max(1, parse.GetValue(frames)) / 23.976;
                var sw = Stopwatch.StartNew();
                var stats = converter.ConvertVideo(videoPath, output, duration: seconds);
                double fps = stats.Frames / sw.Elapsed.TotalSeconds;
                File.Delete(output);
                io.Out.WriteLine($"fakevideo: conversion {fps:0.0} frames/s ({stats.Frames} frames of {Path.GetFileName(videoPath)}, {stats.FacesSwapped} faces swapped, detection + landmarks + model + blending + H.264)");
                figures["conversion_fps"] = BenchJson.Round(fps);
                figures["conversion_frames"] = stats.Frames;
            }
            BenchJson.Write(parse.GetValue(json), figures);
            return 0;
        });
        return command;
    }
}
