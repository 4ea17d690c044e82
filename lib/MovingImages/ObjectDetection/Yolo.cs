using System.Diagnostics;
using MovingImages.Darknet;
using MovingImages.Imaging;
using MovingImages.Runtime;
using OpenCvSharp;
using TorchSharp;
using static TorchSharp.torch;
using MovingImages.Drawing;
using MovingImages.Geometry;

namespace MovingImages.ObjectDetection;

/// <summary>
/// A YOLO detector: a darknet network with its class names, ready to detect objects in images.
/// <code>
/// using var yolo = Yolo.Load("weights/yolov3.cfg", "weights/yolov3.weights");
/// using var result = yolo.Detect("data/dog.jpg");   // result.Annotated is the image with labelled boxes
/// </code>
/// </summary>
public sealed class Yolo : IDisposable
{
    readonly DarknetNetwork _network;

    Yolo(DarknetNetwork network, ClassNames names, Device device, Precision precision)
    {
        _network = network;
        Names = names;
        Device = device;
        Precision = precision;
    }

    /// <summary>The network definition.</summary>
    public DarknetConfig Config => _network.Config;
    /// <summary>Class names, in class-id order.</summary>
    public ClassNames Names { get; }
    /// <summary>Where the network runs.</summary>
    public Device Device { get; }
    /// <summary>The network's arithmetic (its weights were converted to it once, at load); input and heads stay float32.</summary>
    public Precision Precision { get; }
    /// <summary>
    /// How long the convolution self-check took at load (<see cref="DarknetNetwork.CheckConvolutions"/>: each class of shapes the network
    /// uses, held to an independent reference; zero when every class was checked before in this process).
    /// </summary>
    public TimeSpan SelfCheckTime { get; private init; }

    /// <summary>The TorchSharp module (for inspection and experiments).</summary>
    public DarknetNetwork Network => _network;

    /// <summary>
    /// Loads a darknet <c>.cfg</c> and <c>.weights</c>. Class names come from <paramref name="namesPath"/>, else a
    /// <c>coco.names</c> beside the cfg or weights when its count matches, else "class N". With
    /// <paramref name="precision"/> bf16 the network runs in bfloat16 (about twice as fast on CPUs with AVX512-BF16 or
    /// AMX; letterboxing, decoding and NMS stay float32).
    /// </summary>
    public static Yolo Load(string cfgPath, string weightsPath, string? namesPath = null, Device? device = null, Precision precision = Precision.Float32)
    {
        var config = DarknetConfig.Load(cfgPath);
        config.WarnOnce(Console.Error);
        var weights = DarknetWeightsFile.Read(weightsPath, config);
        ClassNames? names = null;
        if (namesPath != null)
        {
            names = ClassNames.Load(namesPath);
            if (names.Count != config.Classes)
                throw new ArgumentException($"{namesPath} has {names.Count} names but {cfgPath} predicts {config.Classes} classes");
        }
        else
        {
            // A coco.names beside the cfg or the weights, when it fits this model.
            var found = new[] { cfgPath, weightsPath }
                .Select(p => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(p))!, "coco.names"))
                .FirstOrDefault(File.Exists);
            if (found != null && ClassNames.Load(found) is { } n && n.Count == config.Classes) names = n;
        }
        return FromWeights(config, weights, names, device, precision);
    }

    /// <summary>Builds a detector from a parsed config and weights already in memory.</summary>
    public static Yolo FromWeights(DarknetConfig config, DarknetWeights weights, ClassNames? names = null, Device? device = null,
        Precision precision = Precision.Float32)
    {
        TorchRuntime.EnsureLoaded();
        if (config.YoloLayers.Count == 0) throw new ArgumentException($"{config.Source} has no [yolo] layers: not a YOLO detector");
        names ??= ClassNames.Numbered(config.Classes);
        if (names.Count != config.Classes) throw new ArgumentException($"{names.Count} class names for {config.Classes} classes");
        device ??= TorchRuntime.DefaultDevice;
        var network = DarknetNetwork.Create(config, weights);
        network.to(device);
        if (precision != Precision.Float32)
        {
            Runtime.CpuFeatures.WarnIfEmulated(precision, device, Console.Error);
            network.to(precision.ComputeType()); // once: the weights live in the compute type from now on
        }
        // libtorch's convolutions checked on this CPU, once per class of shapes (cached for the process): milliseconds.
        var selfCheck = network.CheckConvolutions();
        return new Yolo(network, names, device, precision) { SelfCheckTime = selfCheck };
    }

    /// <summary>Detects objects in the image file at <paramref name="imagePath"/>.</summary>
    public DetectionResult Detect(string imagePath, YoloOptions? options = null)
    {
        var image = ImageFiles.Read(imagePath);
        return Detect(image, options, imagePath, ownsImage: true);
    }

    /// <summary>Detects objects in <paramref name="image"/> (8-bit BGR); the result holds its own copy of the image.</summary>
    public DetectionResult Detect(Mat image, YoloOptions? options = null) => Detect(image.Clone(), options, null, ownsImage: true);

    DetectionResult Detect(Mat image, YoloOptions? options, string? source, bool ownsImage)
    {
        options = (options ?? YoloOptions.Default).Validate();
        var sw = Stopwatch.StartNew();
        var detections = DetectObjects([image], options)[0];
        sw.Stop();
        return new DetectionResult(image, detections, options, sw.Elapsed, source, Names.Count);
    }

    /// <summary>Detects objects in a batch of images (one forward pass); returns one list per image.</summary>
    public IReadOnlyList<IReadOnlyList<Detection>> DetectObjects(IReadOnlyList<Mat> images, YoloOptions? options = null)
    {
        options = (options ?? YoloOptions.Default).Validate();
        if (images.Count == 0) return [];
        using var scope = torch.NewDisposeScope();
        var (input, boxes) = Prepare(images, options.InputSize);
        var heads = Forward(input);
        var decoded = YoloDecoder.Decode(heads, Config.YoloLayers, options.InputSize, options.InputSize);
        var results = new IReadOnlyList<Detection>[images.Count];
        for (int i = 0; i < images.Count; i++)
            results[i] = YoloDecoder.Select(decoded[i], boxes[i], Names, options.Confidence, options.NmsIou, options.MaxDetections);
        return results;
    }

    /// <summary>
    /// Letterboxes images into one N×3×S×S input tensor on <see cref="Device"/> (RGB in [0, 1], grey 0.5 padding),
    /// returning the tensor and each image's letterbox geometry.
    /// </summary>
    public (Tensor Input, IReadOnlyList<Letterbox> Letterboxes) Prepare(IReadOnlyList<Mat> images, int inputSize) =>
        ImageTensor.LetterboxBatch(images, inputSize, Device);

    /// <summary>Runs the network on a prepared input; returns each head's raw output (before any logistic), float32.</summary>
    public Tensor[] Forward(Tensor input)
    {
        using var noGrad = torch.no_grad();
        if (Precision == Precision.Float32) return _network.call(input.to(Device));
        using var scope = torch.NewDisposeScope();
        var heads = _network.call(input.to(Device).to_type(Precision.ComputeType()));
        return heads.Select(h => h.to_type(ScalarType.Float32).MoveToOuterDisposeScope()).ToArray();
    }

    /// <summary>Milliseconds per layer of one forward pass on a prepared input (see <see cref="DarknetNetwork.ProfileLayers"/>).</summary>
    public double[] ProfileLayers(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        return _network.ProfileLayers(input.to(Device).to_type(Precision.ComputeType()));
    }

    /// <summary>Releases the network's native memory.</summary>
    public void Dispose() => _network.Dispose();
}

/// <summary>What <see cref="Yolo.Detect(string, YoloOptions?)"/> found in one image. Owns its image copy.</summary>
public sealed class DetectionResult : IDisposable
{
    Mat? _annotated;
    readonly int _classCount;

    internal DetectionResult(Mat image, IReadOnlyList<Detection> detections, YoloOptions options, TimeSpan elapsed, string? source, int classCount)
    {
        Image = image;
        Detections = detections;
        Options = options;
        Elapsed = elapsed;
        Source = source;
        _classCount = classCount;
    }

    /// <summary>The image that was searched (8-bit BGR).</summary>
    public Mat Image { get; }
    /// <summary>What was found, highest score first.</summary>
    public IReadOnlyList<Detection> Detections { get; }
    /// <summary>The options used.</summary>
    public YoloOptions Options { get; }
    /// <summary>Time for preprocessing, the network and post-processing.</summary>
    public TimeSpan Elapsed { get; }
    /// <summary>The file the image came from, if any.</summary>
    public string? Source { get; }

    /// <summary>The image with labelled boxes (drawn once, on a copy).</summary>
    public Mat Annotated => _annotated ??= Annotator.Draw(Image, Detections, _classCount);

    /// <summary>Draws with a custom style (a new image each call; the caller disposes it).</summary>
    public Mat Annotate(AnnotationStyle style) => Annotator.Draw(Image, Detections, _classCount, style);

    /// <summary>Saves the annotated image (format from the extension), atomically.</summary>
    public void Save(string path) => ImageFiles.Write(path, Annotated);

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Detections.Count} objects in {Elapsed.TotalMilliseconds:0} ms" + (Detections.Count == 0 ? "" : ": " + string.Join(", ", Detections));

    /// <summary>Releases the images.</summary>
    public void Dispose()
    {
        Image.Dispose();
        _annotated?.Dispose();
    }
}
