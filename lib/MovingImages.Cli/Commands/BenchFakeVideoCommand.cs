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

/// <summary><c>movingimages bench fakevideo</c>: training samples/s (ours and the PyTorch peer's) and conversion frames/s.</summary>
internal static class BenchFakeVideoCommand
{
    /// <summary>The PyTorch peer script (beside this assembly: Peers/faceswap_peer.py).</summary>
    internal static string PeerScript => Path.Combine(AppContext.BaseDirectory, "Peers", "faceswap_peer.py");

    /// <summary>
    /// Runs the PyTorch peer on the same model sizes, batch sizes, precisions (fp32, bf16), steps and threads; returns
    /// samples/s by (batch, precision), or null after saying why the peer could not run (ours is measured either way).
    /// </summary>
    internal static Dictionary<(int Batch, Precision Precision), double>? PeerTraining(CliIO io, FaceSwapModelOptions options, IReadOnlyList<int> batches,
        IReadOnlyList<Precision> precisions, int steps, int threads, bool tuned = false)
    {
        var wanted = precisions.Where(p => p is Precision.Float32 or Precision.BFloat16).Select(p => p.ShortName()).ToArray();
        if (wanted.Length == 0) { io.Err.WriteLine("PyTorch peer skipped: it times fp32 and bf16 only"); return null; }
        // Debian's python3-torch lives under /usr/bin/python3; a python3 earlier on the PATH (pyenv, conda) may lack torch
        string python = Environment.GetEnvironmentVariable("MOVINGIMAGES_PEER_PYTHON") is { Length: > 0 } chosen ? chosen
            : File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { PeerScript, "--steps", $"{steps}", "--threads", $"{threads}", "--size", $"{options.ImageSize}",
                                  "--encoder-dim", $"{options.EncoderDim}", "--filters", $"{options.Filters}", "--batches" }.Concat(batches.Select(b => $"{b}"))
                                  .Append("--precision").Concat(wanted).Concat(tuned ? ["--tuned"] : []))
            start.ArgumentList.Add(a);
        io.Err.WriteLine($"PyTorch peer{(tuned ? " (tuned: foreach Adam, channels-last)" : "")}: {python} {Path.GetFileName(PeerScript)} (batches {string.Join(", ", batches)}, {string.Join(", ", wanted)}, {steps} steps, {threads} threads)…");
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

    /// <summary>
    /// The convolution self-check one training step of this model runs (checks only, not the step's own work), with a
    /// router of its own so nothing checked earlier in the process is reused.
    /// </summary>
    static (TimeSpan Time, int Classes, int Rerouted) SelfCheck(FaceSwapModelOptions options, IReadOnlyList<Mat> faces, Precision precision)
    {
        var router = new Nn.ConvolutionRouter();
        using var current = Nn.ConvolutionRouter.Use(router);
        torch.random.manual_seed(1);
        using var model = new FaceSwapModel(options);
        using var trainer = new FaceSwapTrainer(model, faces, faces, new TrainingOptions(BatchSize: 2, Precision: precision), torch.CPU);
        trainer.Step();
        return (router.CheckTime, router.Verdicts.Count, router.Verdicts.Count(v => v.Rerouted));
    }

    /// <summary><c>bench fakevideo</c>: training samples/s of the default model at batch 16 and 64, and conversion frames/s.</summary>
    public static Command Create(CliIO io)
    {
        var threads = SharedOptions.Threads();
        var steps = new Option<int>("--steps") { Description = "timed steps per batch size", DefaultValueFactory = _ => 3 };
        var size = SharedOptions.FaceSwapSize();
        var dim = SharedOptions.FaceSwapEncoderDim();
        var filters = SharedOptions.FaceSwapFilters();
        var video = new Option<string>("--video") { Description = "video for the conversion timing", DefaultValueFactory = _ => "data/video/Megamind.avi" };
        var models = SharedOptions.FaceModels();
        var frames = new Option<int>("--frames") { Description = "frames converted for the timing", DefaultValueFactory = _ => 48 };
        var batches = new Option<int[]>("--batches") { Description = "batch sizes timed", DefaultValueFactory = _ => [16, 64], AllowMultipleArgumentsPerToken = true };
        var precisions = new Option<string[]>("--precision") { Description = "precisions timed: fp32, bf16, fp16 (fp16 is for GPUs; ≈20× slower than fp32 on CPUs without float16 arithmetic)", DefaultValueFactory = _ => ["fp32", "bf16"], AllowMultipleArgumentsPerToken = true }; // fp16 on request: no float16 arithmetic on most CPUs (≈20× slower)
        var peer = new Option<bool>("--peer") { Description = "also train the same model in PyTorch (Debian's python3-torch; fp32 and bf16 autocast) on the same batch sizes, threads and steps, and print the ratio" };
        var peerTuned = new Option<bool>("--peer-tuned") { Description = "with --peer: give PyTorch its own speed-ups too (multi-tensor Adam, channels-last model and inputs, padding inside the convolution)" };
        var json = BenchJson.Option();
        var command = new Command("fakevideo", "Training samples/s (batch 16 and 64; fp32, bf16 and fp16 mixed precision) of the autoencoder, next to PyTorch with --peer, and conversion frames/s.")
        { threads, steps, size, dim, filters, video, models, frames, batches, precisions, peer, peerTuned, json };
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
            // first, as at a user's first training step: the convolution self-check of every class the model trains, per precision
            var selfCheck = new System.Text.Json.Nodes.JsonObject();
            ConvolutionStart.Pay(); // libtorch's own start, outside the timing (as at any first convolution)
            foreach (var precision in modes)
            {
                var (time, classes, rerouted) = SelfCheck(options, faces, precision);
                var (again, _, _) = SelfCheck(options, faces, precision); // the same checks once the process has run them: without .NET's and libtorch's one-time start
                io.Err.WriteLine($"convolution self-check at the first training step, {precision.ShortName()}: {time.TotalMilliseconds:0} ms, {again.TotalMilliseconds:0} ms in a process that has run it once ({classes} classes of shapes; {rerouted} computed another way on this CPU)");
                selfCheck[precision.ShortName()] = new System.Text.Json.Nodes.JsonObject { ["ms"] = BenchJson.Round(time.TotalMilliseconds, 1), ["warm_ms"] = BenchJson.Round(again.TotalMilliseconds, 1), ["classes"] = classes, ["rerouted"] = rerouted };
            }
            figures["self_check"] = selfCheck;
            var rows = new System.Text.Json.Nodes.JsonArray();
            figures["training"] = rows;
            // the peer first, on a quiet machine, so neither run shares the cores with the other
            bool tuned = parse.GetValue(peerTuned);
            figures["peer_tuned"] = tuned;
            var peerRates = parse.GetValue(peer) || tuned ? PeerTraining(io, options, parse.GetValue(batches)!, modes, stepCount, TorchRuntime.Threads, tuned) : null;
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
                string output = Path.Combine(Path.GetTempPath(), $"movingimages-bench-{Environment.ProcessId}.mp4");
                double seconds = Math.Max(1, parse.GetValue(frames)) / 23.976;
                var converter = new FaceSwapConverter(model, faceNets, new ConvertOptions(Duration: seconds));
                var sw = Stopwatch.StartNew();
                var stats = converter.ConvertVideo(videoPath, output);
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
