using MovingImages.Imaging;
using MovingImages.Runtime;
using OpenCvSharp;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using MovingImages.Nn;
using MovingImages.Geometry;

namespace MovingImages.FaceAnalysis;

/// <summary>
/// face-api's face recognition network (dlib's ResNet-34-style face descriptor) on TorchSharp: a 150×150 aligned face
/// in, a 128-d descriptor out. Two faces whose descriptors are less than 0.6 apart (Euclidean) are the same person,
/// as in dlib and face_recognition.
/// </summary>
public sealed class FaceRecognitionNet : IDisposable
{
    /// <summary>The manifest's file name in face-api's model folder.</summary>
    public const string ManifestName = "face_recognition_model-weights_manifest.json";
    /// <summary>The distance under which two descriptors are taken to be the same person.</summary>
    public const float SamePersonDistance = 0.6f;
    const int InputSize = 150;
    static readonly float[] MeanRgb = [122.782f, 117.001f, 104.298f];

    sealed record ConvLayer(Tensor Filters, Tensor Bias, Tensor Scale, Tensor Shift);
    sealed record Residual(ConvLayer Conv1, ConvLayer Conv2, bool Down);

    readonly ConvLayer _down;
    readonly Residual[] _layers;
    readonly Tensor _fc;

    FaceRecognitionNet(TfjsWeights w, Device device, Precision precision)
    {
        Device = device;
        Precision = precision;
        var compute = precision.ComputeType();
        ConvLayer Layer(string p) => new(w.Conv($"{p}/conv/filters").to(device).to_type(compute), w.Get($"{p}/conv/bias").to(device).to_type(compute),
            w.Get($"{p}/scale/weights").view(1, -1, 1, 1).to(device).to_type(compute), w.Get($"{p}/scale/biases").view(1, -1, 1, 1).to(device).to_type(compute));
        _down = Layer("conv32_down");
        string[] names = ["conv32_1", "conv32_2", "conv32_3", "conv64_down", "conv64_1", "conv64_2", "conv64_3",
            "conv128_down", "conv128_1", "conv128_2", "conv256_down", "conv256_1", "conv256_2", "conv256_down_out"];
        _layers = names.Select(n => new Residual(Layer($"{n}/conv1"), Layer($"{n}/conv2"), n.Contains("down"))).ToArray();
        _fc = w.Get("fc", 256, 128).to(device);
    }

    /// <summary>Where the network runs.</summary>
    public Device Device { get; }
    /// <summary>The convolutions' arithmetic (weights converted once, at load); input and descriptor stay float32.</summary>
    public Precision Precision { get; }

    /// <summary>
    /// Loads the weights from face-api's model folder. With <paramref name="precision"/> bf16 the convolutions run in
    /// bfloat16 (the pooled features and the last dense layer stay float32): descriptors within 0.02 of float32's.
    /// </summary>
    public static FaceRecognitionNet Load(string modelDirectory, Device? device = null, Precision precision = Precision.Float32)
    {
        var on = device ?? Runtime.TorchRuntime.DefaultDevice;
        if (precision != Precision.Float32) Runtime.CpuFeatures.WarnIfEmulated(precision, on, Console.Error);
        return TfjsWeights.Build(Path.Combine(modelDirectory, ManifestName), w => new FaceRecognitionNet(w, on, precision), n => n.Forward(torch.zeros(1, 3, InputSize, InputSize, device: n.Device)));
    }

    /// <summary>The descriptor of the face with these landmarks (cut out at face-api's dlib alignment box).</summary>
    public float[] Describe(Mat image, FaceLandmarks68 landmarks) => Describe(image, landmarks.DlibAlignmentBox());

    /// <summary>The descriptor of the face in <paramref name="alignedBox"/> (image pixels).</summary>
    public float[] Describe(Mat image, Box alignedBox)
    {
        using var crop = FaceCrop.CutOut(image, alignedBox);
        if (crop == null) return new float[128];
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return Forward(Preprocess(crop)).to(torch.CPU).contiguous().data<float>().ToArray();
    }

    /// <summary>Euclidean distance between two descriptors.</summary>
    public static float Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"descriptors of different lengths ({a.Length}, {b.Length})");
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (a[i] - b[i]) * (a[i] - b[i]);
        return (float)Math.Sqrt(sum);
    }

    internal Tensor Preprocess(Mat crop)
    {
        return SquareImage.ResizeNormalized(crop, InputSize, centred: true, MeanRgb, Device);
    }

    static Tensor Apply(Tensor x, ConvLayer c, bool down, bool relu)
    {
        var y = down ? Convolution.Conv2d(x, c.Filters, c.Bias, stride: 2) : TfOps.ConvSame(x, c.Filters, c.Bias, 1);
        y = Scalars.Sum(y * c.Scale, c.Shift);
        return relu ? F.relu(y) : y;
    }

    internal Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var y = Apply(x.to_type(Precision.ComputeType()), _down, down: true, relu: true);
        y = F.max_pool2d(y, [3, 3], [2, 2]);
        foreach (var layer in _layers)
        {
            var o = Apply(y, layer.Conv1, layer.Down, relu: true);
            o = Apply(o, layer.Conv2, down: false, relu: false);
            var shortcut = y;
            if (layer.Down)
            {
                shortcut = F.avg_pool2d(y, [2, 2], [2, 2]);
                if (shortcut.shape[2] != o.shape[2] || shortcut.shape[3] != o.shape[3])
                    o = F.pad(o, [0, shortcut.shape[3] - o.shape[3], 0, shortcut.shape[2] - o.shape[2]]); // zeros after, as face-api
                if (shortcut.shape[1] != o.shape[1])
                    shortcut = F.pad(shortcut, [0, 0, 0, 0, 0, o.shape[1] - shortcut.shape[1]]);           // zero channels after
            }
            y = F.relu(Scalars.Sum(o, shortcut));
        }
        return y.to_type(ScalarType.Float32).mean([2, 3]).matmul(_fc).MoveToOuterDisposeScope();
    }

    /// <summary>Releases the weights.</summary>
    public void Dispose()
    {
        foreach (var c in new[] { _down }.Concat(_layers.SelectMany(l => new[] { l.Conv1, l.Conv2 })))
        {
            c.Filters.Dispose(); c.Bias.Dispose(); c.Scale.Dispose(); c.Shift.Dispose();
        }
        _fc.Dispose();
    }
}
