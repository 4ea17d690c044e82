using MovingImages.Darknet;
using MovingImages.Imaging;
using OpenCvSharp;

namespace MovingImages.ObjectDetection;

/// <summary>
/// The three files a YOLO model loads from — config, weights, class names — and whether the weights are the real,
/// trained ones or synthetic stand-ins (<see cref="SyntheticWeights"/>) made because the real file is absent.
/// </summary>
/// <param name="Model">The model's name: "yolov3", "yolov3-tiny", "yolov3-spp" (the darknet config's file name).</param>
/// <param name="Cfg">The darknet config.</param>
/// <param name="Weights">The weights file to load.</param>
/// <param name="Names">The class names.</param>
/// <param name="Synthetic">True when <see cref="Weights"/> holds synthetic weights: the network runs exactly as with
/// real ones, but its boxes mean nothing.</param>
public sealed record YoloFiles(string Model, string Cfg, string Weights, string Names, bool Synthetic)
{
    /// <summary>The models <c>movingimages fetch</c> knows, with the fetch group that brings each one's weights.</summary>
    public static IReadOnlyDictionary<string, string> KnownModels { get; } =
        new Dictionary<string, string> { ["yolov3"] = "yolov3", ["yolov3-tiny"] = "tiny", ["yolov3-spp"] = "spp" };

    /// <summary>
    /// Images the synthetic weights are calibrated on (the sample photos), those present in the images folder; dog.jpg
    /// and horses.jpg at least. The more there are, the fewer boxes the weights fire on other pictures.
    /// </summary>
    public static IReadOnlyList<string> CalibrationImages { get; } = ["dog.jpg", "horses.jpg", "eagle.jpg", "giraffe.jpg", "person.jpg", "messi5.jpg"];

    /// <summary>One line for a reader: which weights run, and for synthetic ones, that the boxes mean nothing and how to get the real file.</summary>
    public string Describe() => Synthetic
        ? $"{Model}: SYNTHETIC weights ({System.IO.Path.GetFileName(Weights)}) — {System.IO.Path.GetFileName(RealWeightsPath)} is not in {System.IO.Path.GetDirectoryName(Cfg)}, " +
          $"so the network runs on made-up weights: every number path is real, the boxes and labels are meaningless. " +
          $"Get the real file with `movingimages fetch {FetchGroup}` (or put it there by hand) and run again."
        : $"{Model}: the trained weights {Weights}";

    /// <inheritdoc/>
    public override string ToString() => Describe();

    string FetchGroup => KnownModels.TryGetValue(Model, out var g) ? g : "yolov3";
    string RealWeightsPath => System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Cfg)!, Model + ".weights");

    /// <summary>
    /// Finds <paramref name="model"/>'s files in <paramref name="weightsFolder"/> (<c>model.cfg</c>, <c>model.weights</c>,
    /// <c>coco.names</c>). Without the weights file, writes synthetic weights calibrated on the sample photos in
    /// <paramref name="imagesFolder"/> to <paramref name="syntheticFolder"/> (default: <c>synthetic/</c> in the weights
    /// folder; written once, later calls reuse the file) and returns those, with <see cref="Synthetic"/> set.
    /// </summary>
    /// <exception cref="FileNotFoundException">The config or the class names are missing (they are small files
    /// <c>movingimages fetch yolov3</c> brings), or no calibration image is found.</exception>
    public static YoloFiles Find(string model, string weightsFolder, string imagesFolder, string? syntheticFolder = null)
    {
        syntheticFolder ??= System.IO.Path.Combine(weightsFolder, "synthetic");
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        string cfg = System.IO.Path.Combine(weightsFolder, model + ".cfg");
        string names = System.IO.Path.Combine(weightsFolder, "coco.names");
        foreach (var needed in new[] { cfg, names })
            if (!File.Exists(needed))
                throw new FileNotFoundException(
                    $"{needed} not found: run `movingimages fetch yolov3` (configs and class names) or pass the folder that has it" +
                    (KnownModels.ContainsKey(model) ? "" : $" (known models: {string.Join(", ", KnownModels.Keys)})"), needed);
        string weights = System.IO.Path.Combine(weightsFolder, model + ".weights");
        if (File.Exists(weights)) return new YoloFiles(model, cfg, weights, names, Synthetic: false);

        var images = CalibrationImages.Select(n => System.IO.Path.Combine(imagesFolder, n)).Where(File.Exists).ToArray();
        if (images.Length < 2 || !images.Take(2).Select(System.IO.Path.GetFileName).SequenceEqual(CalibrationImages.Take(2)))
            throw new FileNotFoundException($"synthetic weights are calibrated on the sample photos, and {imagesFolder} lacks {CalibrationImages[0]} or {CalibrationImages[1]}: run `movingimages fetch samples`");
        // the file's name says what made it: the seed and how many photos it was calibrated on
        string synthetic = System.IO.Path.Combine(syntheticFolder, $"{model}.synthetic-seed7-{images.Length}photos.weights");
        var config = DarknetConfig.Load(cfg);
        long expected = DarknetWeightsHeader.Default.ByteCount + 4 * DarknetWeights.FloatCount(config);
        if (!File.Exists(synthetic) || new FileInfo(synthetic).Length != expected)
        {
            var mats = images.Select(ImageFiles.Read).ToList();
            try
            {
                Directory.CreateDirectory(syntheticFolder);
                DarknetWeightsFile.Write(synthetic, Calibrated(config, mats, 416, new SyntheticWeightsOptions(Seed: 7)), config);
            }
            finally
            {
                mats.ForEach(m => m.Dispose());
            }
        }
        return new YoloFiles(model, cfg, synthetic, names, Synthetic: true);
    }

    /// <summary>Synthetic weights, calibrated on <paramref name="images"/> letterboxed to <paramref name="size"/> when any are given.</summary>
    public static DarknetWeights Calibrated(DarknetConfig config, IReadOnlyList<Mat> images, int size, SyntheticWeightsOptions options)
    {
        if (images.Count == 0) return SyntheticWeights.Generate(config, null, options);
        var (input, _) = ImageTensor.LetterboxBatch(images, size);
        using (input) return SyntheticWeights.Generate(config, input, options);
    }
}
