using System.CommandLine;
using System.Diagnostics;
using MovingImages.FaceAnalysis;
using MovingImages.Imaging;
using MovingImages.Runtime;
using Spectre.Console;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages bench faces</c>: per-photo milliseconds of the face networks.</summary>
internal static class BenchFacesCommand
{
    /// <summary><c>bench faces</c>: per-image milliseconds for detection, landmarks and descriptors.</summary>
    public static Command Create(CliIO io)
    {
        var models = SharedOptions.FaceModels();
        var images = new Option<string>("--images") { Description = "folder of photos", DefaultValueFactory = _ => "data/faces" };
        var threads = SharedOptions.Threads();
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
            using var facesBf16 = Faces.Load(parse.GetValue(models)!, TorchSharp.torch.CPU, Precision.BFloat16);
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
                // bf16: the same faces (fp32 landmarks for the descriptors, so only the network differs)
                double ssdBf16 = Time(p => facesBf16.Ssd.Detect(p));
                double landmarksBf16 = Time(p => { foreach (var f in boxes[photos.IndexOf(p)]) facesBf16.LandmarkNet.Detect(p, f.Box); });
                double descriptorsBf16 = Time(p => { foreach (var m in marks[photos.IndexOf(p)]) facesBf16.RecognitionNet.Describe(p, m); });
                var agreement = Bf16Agreement(faces, facesBf16, photos, boxes, marks);
                var table = new Table().AddColumns("step", "ms per photo");
                table.AddRow("tiny face detector (416)", $"{tiny:0.0}");
                table.AddRow("SSD-MobileNetV1", $"{ssd:0.0}");
                table.AddRow($"68 landmarks ({faceCount} faces)", $"{landmarks:0.0}");
                table.AddRow($"descriptors ({faceCount} faces)", $"{descriptors:0.0}");
                table.AddRow("SSD + landmarks + descriptors", $"{ssd + landmarks + descriptors:0.0}");
                table.AddRow("SSD-MobileNetV1, bf16", $"{ssdBf16:0.0}");
                table.AddRow($"68 landmarks, bf16", $"{landmarksBf16:0.0}");
                table.AddRow($"descriptors, bf16", $"{descriptorsBf16:0.0}");
                io.Err.WriteLine($"{photos.Count} photos in {dir}, {TorchRuntime.Threads} threads, {n} runs");
                io.Console.Write(table);
                io.Out.WriteLine($"faces: tiny {tiny:0.0} ms/photo (face-api JS: 65–100), SSD+landmarks+descriptors {ssd + landmarks + descriptors:0.0} ms/photo (face-api JS: 400–600)");
                io.Out.WriteLine($"faces bf16: SSD {ssdBf16:0.0} ms/photo ({ssdBf16 / ssd:0.00}× fp32), {agreement.SsdMatched}/{agreement.SsdTotal} of fp32's faces found (IoU ≥ 0.9, score within 0.02); landmarks {landmarksBf16:0.0} ms/photo ({landmarksBf16 / landmarks:0.00}× fp32), descriptors {descriptorsBf16:0.0} ({descriptorsBf16 / descriptors:0.00}× fp32); " +
                                 $"descriptor L2 to fp32's: max {agreement.MaxDescriptorL2:0.0000}, mean {agreement.MeanDescriptorL2:0.0000} (goal ≤ 0.02); landmarks max {agreement.MaxLandmarkPx:0.00} px off, {faceCount} faces");
                var figures = BenchJson.Start("faces");
                figures["photos"] = photos.Count;
                figures["faces"] = faceCount;
                figures["threads"] = TorchRuntime.Threads;
                figures["tiny_ms"] = BenchJson.Round(tiny);
                figures["ssd_ms"] = BenchJson.Round(ssd);
                figures["landmarks_ms"] = BenchJson.Round(landmarks);
                figures["descriptors_ms"] = BenchJson.Round(descriptors);
                figures["ssd_landmarks_descriptors_ms"] = BenchJson.Round(ssd + landmarks + descriptors);
                figures["ssd_bf16_ms"] = BenchJson.Round(ssdBf16);
                figures["bf16_ssd_faces_matched"] = agreement.SsdMatched;
                figures["landmarks_bf16_ms"] = BenchJson.Round(landmarksBf16);
                figures["descriptors_bf16_ms"] = BenchJson.Round(descriptorsBf16);
                figures["bf16_descriptor_max_l2"] = Math.Round(agreement.MaxDescriptorL2, 5);
                figures["bf16_descriptor_mean_l2"] = Math.Round(agreement.MeanDescriptorL2, 5);
                figures["bf16_landmarks_max_px"] = Math.Round(agreement.MaxLandmarkPx, 3);
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

    /// <summary>
    /// How far bf16's outputs are from fp32's on the same faces: descriptors (L2, from the same fp32 landmarks) and
    /// landmarks (pixels, from the same boxes).
    /// </summary>
    internal static (double MaxDescriptorL2, double MeanDescriptorL2, double MaxLandmarkPx, int SsdMatched, int SsdTotal) Bf16Agreement(Faces fp32, Faces bf16,
        IReadOnlyList<OpenCvSharp.Mat> photos, IReadOnlyList<IReadOnlyList<FaceDetection>> boxes, IReadOnlyList<FaceLandmarks68[]> marks)
    {
        var l2 = new List<double>();
        double maxPx = 0;
        int matched = 0, total = 0;
        for (int i = 0; i < photos.Count; i++)
        {
            var found = bf16.Ssd.Detect(photos[i]);
            total += boxes[i].Count;
            matched += boxes[i].Count(f => found.Any(g => g.Box.IoU(f.Box) >= 0.9f && Math.Abs(g.Score - f.Score) <= 0.02f));
            foreach (var m in marks[i])
                l2.Add(FaceRecognitionNet.Distance(fp32.RecognitionNet.Describe(photos[i], m), bf16.RecognitionNet.Describe(photos[i], m)));
            foreach (var (f, m) in boxes[i].Zip(marks[i]))
            {
                var other = bf16.LandmarkNet.Detect(photos[i], f.Box);
                for (int k = 0; k < 68; k++)
                    maxPx = Math.Max(maxPx, Math.Sqrt(Math.Pow(other.Points[k].X - m.Points[k].X, 2) + Math.Pow(other.Points[k].Y - m.Points[k].Y, 2)));
            }
        }
        return l2.Count == 0 ? (0, 0, 0, matched, total) : (l2.Max(), l2.Average(), maxPx, matched, total);
    }
}
