using System.CommandLine;
using System.Diagnostics;
using MovingImages.Darknet;
using MovingImages.Imaging;
using MovingImages.ObjectDetection;
using MovingImages.Runtime;
using OpenCvSharp;
using Spectre.Console;
using TorchSharp;
using MovingImages.Geometry;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages bench locate</c>: our YOLO network in fp32 and bf16 next to OpenCV DNN on the same weights, input and threads.</summary>
internal static class BenchLocateCommand
{
    public static Command Create(CliIO io)
    {
        var cfg = SharedOptions.Cfg();
        var weights = SharedOptions.Weights();
        var size = SharedOptions.Size();
        var threads = SharedOptions.Threads();
        var image = new Option<string>("--image") { Description = "input image (the other sample photos beside it are used for the bf16 agreement)", DefaultValueFactory = _ => "data/images/dog.jpg" };
        var runs = new Option<int>("--runs") { Description = "timed runs per implementation", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "untimed runs first", DefaultValueFactory = _ => 2 };
        var profile = new Option<bool>("--profile") { Description = "also time every layer (fp32 and bf16) and sum the time by kind of layer" };
        var json = BenchJson.Option();
        var command = new Command("locate", "ms per frame of our YOLO network in fp32 and bf16 vs OpenCV DNN (same weights, input, threads); bf16's agreement with fp32.")
        {
            cfg, weights, size, threads, image, runs, warmup, profile, json,
        };
        command.SetAction(parse =>
        {
            string cfgPath = parse.GetValue(cfg)!, weightsPath = parse.GetValue(weights)!, imagePath = parse.GetValue(image)!;
            SharedOptions.RequireFile(cfgPath, "Darknet config");
            if (!File.Exists(imagePath)) throw new FileNotFoundException($"Image not found: {imagePath}. Run `movingimages fetch samples` or pass --image.", imagePath);
            int n = parse.GetValue(threads), timed = Math.Max(1, parse.GetValue(runs)), untimed = Math.Max(0, parse.GetValue(warmup));
            var options = new YoloOptions(parse.GetValue(size)).Validate();
            var config = DarknetConfig.Load(cfgPath);
            using var mat = ImageFiles.Read(imagePath);
            // the sample photos beside the image (the bench image first): the bf16 agreement is measured on all of them
            var photoPaths = new[] { imagePath }.Concat(YoloFiles.CalibrationImages.Select(p => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(imagePath))!, p)))
                .Where(File.Exists).Select(Path.GetFullPath).Distinct().ToArray();
            var photos = photoPaths.Select(ImageFiles.Read).ToList();

            TorchRuntime.SetThreads(n);
            var selfCheck = SelfCheck(config);                            // first, as at a user's first load: nothing warmed up
            string weightsNote = weightsPath;
            string? tempWeights = null;
            try
            {
                if (!File.Exists(weightsPath))
                {
                    // Speed does not depend on the values: synthetic weights, calibrated on the photos so activations stay sane.
                    tempWeights = Path.Combine(Path.GetTempPath(), $"movingimages-bench-{Environment.ProcessId}.weights");
                    DarknetWeightsFile.Write(tempWeights, YoloFiles.Calibrated(config, photos, options.InputSize, new SyntheticWeightsOptions()), config);
                    weightsNote = $"synthetic, calibrated on {photos.Count} photos ({weightsPath} not found)";
                    weightsPath = tempWeights;
                }
                TorchRuntime.SetThreads(n);
                Cv2.SetNumThreads(n);
                using var yolo = Yolo.Load(cfgPath, weightsPath, device: torch.CPU);
                using var yoloBf16 = Yolo.Load(cfgPath, weightsPath, device: torch.CPU, precision: Precision.BFloat16);
                using var peer = new OpenCvDarknet(cfgPath, weightsPath);
                var (input, _) = yolo.Prepare([mat], options.InputSize);
                using (input)
                {
                    var heads = OpenCvDarknet.HeadLayerNames(config);
                    (double Median, double Min) Network(Yolo y) => Time(untimed, timed, () =>
                    {
                        using var scope = torch.NewDisposeScope();
                        y.Forward(input);
                    });
                    var ours = Network(yolo);
                    var oursBf16 = Network(yoloBf16);
                    var theirs = Time(untimed, timed, () => peer.Forward(input, heads));
                    var endToEnd = Time(untimed, timed, () => yolo.DetectObjects([mat], options));
                    var endToEndBf16 = Time(untimed, timed, () => yoloBf16.DetectObjects([mat], options));
                    var prepare = Time(untimed, timed, () => yolo.Prepare([mat], options.InputSize).Input.Dispose());
                    using var rawHeads = new DisposableTensors(yolo.Forward(input));
                    var decode = Time(untimed, timed, () =>
                    {
                        using var scope = torch.NewDisposeScope();
                        var decoded = YoloDecoder.Decode(rawHeads.Items, config.YoloLayers, options.InputSize, options.InputSize);
                        YoloDecoder.Select(decoded[0], Letterbox.Compute(mat.Cols, mat.Rows, options.InputSize, options.InputSize), yolo.Names, options.Confidence, options.NmsIou, options.MaxDetections);
                    });
                    var agreement = Bf16Agreement(yolo, yoloBf16, photos, options);

                    io.Err.WriteLine($"{Path.GetFileName(cfgPath)} at {options.InputSize}×{options.InputSize}, {n} threads, weights: {weightsNote}, image: {imagePath}, {timed} runs after {untimed} warm-up" +
                                     (Runtime.CpuFeatures.HasBFloat16 == false ? "; this CPU has no BF16 arithmetic (bf16 is emulated)" : ""));
                    var table = new Table().AddColumns("", "median ms", "min ms");
                    table.AddRow("MovingImages (TorchSharp) network, fp32", $"{ours.Median:0.0}", $"{ours.Min:0.0}");
                    table.AddRow("MovingImages (TorchSharp) network, bf16", $"{oursBf16.Median:0.0}", $"{oursBf16.Min:0.0}");
                    table.AddRow($"OpenCV DNN {Cv2.GetVersionString()} network, fp32", $"{theirs.Median:0.0}", $"{theirs.Min:0.0}");
                    table.AddRow("MovingImages detect (letterbox + network + decode + NMS), fp32", $"{endToEnd.Median:0.0}", $"{endToEnd.Min:0.0}");
                    table.AddRow("MovingImages detect, bf16", $"{endToEndBf16.Median:0.0}", $"{endToEndBf16.Min:0.0}");
                    table.AddRow("  of which letterbox", $"{prepare.Median:0.0}", $"{prepare.Min:0.0}");
                    table.AddRow("  of which decode + threshold + NMS", $"{decode.Median:0.0}", $"{decode.Min:0.0}");
                    io.Console.Write(table);
                    io.Err.WriteLine($"convolution self-check at load: fp32 {selfCheck.Fp32.TotalMilliseconds:0} ms, bf16 {selfCheck.Bf16.TotalMilliseconds:0} ms " +
                                     $"({selfCheck.Classes} classes of shapes; {selfCheck.Rerouted} computed another way on this CPU)");
                    io.Out.WriteLine($"locate: ours {ours.Median:0.0} ms, ours bf16 {oursBf16.Median:0.0} ms, OpenCV DNN {theirs.Median:0.0} ms; " +
                                     $"ratio OpenCV/ours {theirs.Median / ours.Median:0.00}x, bf16/OpenCV {oursBf16.Median / theirs.Median:0.00}x; " +
                                     $"bf16 agreement {agreement.Matched}/{agreement.Total} fp32 boxes ({agreement.Ratio:P1}; same class, IoU ≥ 0.9) on {photos.Count} photos; " +
                                     $"decode + NMS {decode.Median / endToEnd.Median:P1} of a detection");
                    var figures = BenchJson.Start("locate");
                    figures["model"] = Path.GetFileName(cfgPath);
                    figures["input_size"] = options.InputSize;
                    figures["threads"] = n;
                    figures["weights"] = weightsNote;
                    figures["ours_ms"] = BenchJson.Round(ours.Median);
                    figures["ours_bf16_ms"] = BenchJson.Round(oursBf16.Median);
                    figures["opencv_ms"] = BenchJson.Round(theirs.Median);
                    figures["detect_ms"] = BenchJson.Round(endToEnd.Median);
                    figures["detect_bf16_ms"] = BenchJson.Round(endToEndBf16.Median);
                    figures["letterbox_ms"] = BenchJson.Round(prepare.Median);
                    figures["decode_nms_ms"] = BenchJson.Round(decode.Median);
                    figures["decode_nms_share"] = BenchJson.Round(decode.Median / endToEnd.Median, 4);
                    figures["self_check_ms"] = BenchJson.Round(selfCheck.Fp32.TotalMilliseconds, 1);
                    figures["self_check_bf16_ms"] = BenchJson.Round(selfCheck.Bf16.TotalMilliseconds, 1);
                    figures["self_check_classes"] = selfCheck.Classes;
                    figures["self_check_rerouted"] = selfCheck.Rerouted;
                    figures["bf16_agreement"] = BenchJson.Round(agreement.Ratio, 4);
                    figures["bf16_boxes_matched"] = agreement.Matched;
                    figures["fp32_boxes"] = agreement.Total;
                    if (parse.GetValue(profile)) figures["layers"] = ProfileTable(io, yolo, yoloBf16, input, untimed, timed);
                    BenchJson.Write(parse.GetValue(json), figures);
                }
            }
            finally
            {
                photos.ForEach(p => p.Dispose());
                if (tempWeights != null) File.Delete(tempWeights);
            }
            return 0;
        });
        return command;
    }

    /// <summary>
    /// The convolution self-check a load of this network runs (fp32, then bf16), with a router of its own so nothing checked
    /// earlier in the process is reused; how many classes it checked and how many take another route here. libtorch's
    /// one-time start of its convolution machinery (10–20 ms, paid by the first convolution of a process whatever it is)
    /// is paid first, outside the timing (<see cref="ConvolutionStart.Pay"/>).
    /// </summary>
    internal static (TimeSpan Fp32, TimeSpan Bf16, int Classes, int Rerouted) SelfCheck(DarknetConfig config)
    {
        ConvolutionStart.Pay();
        var router = new Nn.ConvolutionRouter();
        using var current = Nn.ConvolutionRouter.Use(router);
        using var network = DarknetNetwork.Create(config);
        var fp32 = network.CheckConvolutions();
        network.to(torch.ScalarType.BFloat16);
        var bf16 = network.CheckConvolutions();
        return (fp32, bf16, router.Verdicts.Count, router.Verdicts.Count(v => v.Rerouted));
    }

    /// <summary>
    /// How many of fp32's boxes bf16 finds too (a box of the same class with IoU ≥ 0.9), over <paramref name="photos"/>.
    /// </summary>
    internal static (int Matched, int Total, double Ratio) Bf16Agreement(Yolo fp32, Yolo bf16, IReadOnlyList<Mat> photos, YoloOptions options)
    {
        int matched = 0, total = 0;
        foreach (var photo in photos)
        {
            var (m, t) = DetectionAgreement.Count(fp32.DetectObjects([photo], options)[0], bf16.DetectObjects([photo], options)[0]);
            matched += m;
            total += t;
        }
        return (matched, total, total == 0 ? 1 : (double)matched / total);
    }

    /// <summary>Per-layer medians for fp32 and bf16, printed by kind of layer and returned as JSON rows.</summary>
    static System.Text.Json.Nodes.JsonArray ProfileTable(CliIO io, Yolo fp32, Yolo bf16, torch.Tensor input, int untimed, int timed)
    {
        double[] Median(Yolo y)
        {
            for (int i = 0; i < untimed; i++) y.ProfileLayers(input);
            var runs = Enumerable.Range(0, timed).Select(_ => y.ProfileLayers(input)).ToArray();
            return Enumerable.Range(0, runs[0].Length).Select(l => runs.Select(r => r[l]).Order().ElementAt(timed / 2)).ToArray();
        }
        var a = Median(fp32);
        var b = Median(bf16);
        var layers = fp32.Config.Layers;
        var shapes = fp32.Config.OutputShapes((int)input.shape[3], (int)input.shape[2]);
        var rows = new System.Text.Json.Nodes.JsonArray();
        var table = new Table().AddColumns("layer", "kind", "output", "fp32 ms", "bf16 ms");
        for (int i = 0; i < layers.Count; i++)
        {
            string kind = layers[i] is ConvolutionalLayer c ? $"conv {c.Size}×{c.Size}/{c.Stride}" : layers[i].Kind;
            table.AddRow($"{i}", kind, shapes[i].ToString(), $"{a[i]:0.00}", $"{b[i]:0.00}");
            rows.Add(new System.Text.Json.Nodes.JsonObject { ["layer"] = i, ["kind"] = kind, ["output"] = shapes[i].ToString(), ["fp32_ms"] = BenchJson.Round(a[i], 3), ["bf16_ms"] = BenchJson.Round(b[i], 3) });
        }
        io.Console.Write(table);
        var byKind = new Table().AddColumns("kind", "layers", "fp32 ms", "bf16 ms");
        foreach (var g in Enumerable.Range(0, layers.Count).GroupBy(i => rows[i]!["kind"]!.GetValue<string>()).OrderByDescending(g => g.Sum(i => a[i])))
            byKind.AddRow(g.Key, $"{g.Count()}", $"{g.Sum(i => a[i]):0.0}", $"{g.Sum(i => b[i]):0.0}");
        byKind.AddRow("all", $"{layers.Count}", $"{a.Sum():0.0}", $"{b.Sum():0.0}");
        io.Console.Write(byKind);
        return rows;
    }

    /// <summary>Median and minimum milliseconds of <paramref name="timed"/> runs after <paramref name="untimed"/> warm-up runs.</summary>
    internal static (double Median, double Min) Time(int untimed, int timed, Action action)
    {
        for (int i = 0; i < untimed; i++) action();
        var ms = new double[timed];
        for (int i = 0; i < timed; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            ms[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(ms);
        return (timed % 2 == 1 ? ms[timed / 2] : (ms[timed / 2 - 1] + ms[timed / 2]) / 2, ms[0]);
    }

    sealed class DisposableTensors(torch.Tensor[] items) : IDisposable
    {
        public torch.Tensor[] Items { get; } = items;
        public void Dispose()
        {
            foreach (var t in Items) t.Dispose();
        }
    }
}
