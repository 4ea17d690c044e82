using MovingImages.Imaging;
using OpenCvSharp;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using MovingImages.Nn;
using MovingImages.Geometry;

namespace MovingImages.FaceAnalysis;

/// <summary>A face found in an image: its box in image pixels and the detector's score.</summary>
/// <param name="Box">Where, in original-image pixels.</param>
/// <param name="Score">Detector confidence in [0, 1].</param>
public sealed record FaceDetection(Box Box, float Score);

/// <summary>Options of the tiny face detector (face-api's TinyFaceDetectorOptions).</summary>
/// <param name="InputSize">Network input side, a multiple of 32 (128–608; larger finds smaller faces).</param>
/// <param name="ScoreThreshold">Minimum score.</param>
public sealed record TinyFaceDetectorOptions(int InputSize = 416, float ScoreThreshold = 0.5f)
{
    /// <summary>The defaults (416, 0.5).</summary>
    public static TinyFaceDetectorOptions Default { get; } = new();
}

/// <summary>
/// face-api's tiny face detector on TorchSharp: a Tiny-YOLOv2-style network (a 3×3 convolution, then depthwise-separable
/// convolutions with TF "same" max pools) predicting 5 anchor boxes per cell of a 13×13 grid (at 416). The image is
/// padded to a square at the bottom/right, resized with TF's bilinear resize, mean-subtracted and scaled as face-api does.
/// </summary>
public sealed class TinyFaceDetector : IDisposable
{
    /// <summary>The manifest's file name in face-api's model folder.</summary>
    public const string ManifestName = "tiny_face_detector_model-weights_manifest.json";
    static readonly (float W, float H)[] Anchors = [(1.603231f, 2.094468f), (6.041143f, 7.080126f), (2.882459f, 3.518061f), (4.266906f, 5.178857f), (9.041765f, 10.66308f)];
    static readonly float[] MeanRgb = [117.001f, 114.697f, 97.404f];
    const float IouThreshold = 0.4f;

    readonly Tensor _conv0, _bias0, _conv8, _bias8;
    readonly (Tensor Depthwise, Tensor Pointwise, Tensor Bias)[] _separable;

    TinyFaceDetector(TfjsWeights w, Device device)
    {
        Device = device;
        _conv0 = w.Conv("conv0/filters").to(device);
        _bias0 = w.Get("conv0/bias").to(device);
        _separable = Enumerable.Range(1, 5).Select(i => (w.Depthwise($"conv{i}/depthwise_filter").to(device),
            w.Conv($"conv{i}/pointwise_filter").to(device), w.Get($"conv{i}/bias").to(device))).ToArray();
        _conv8 = w.Conv("conv8/filters").to(device);
        _bias8 = w.Get("conv8/bias").to(device);
    }

    /// <summary>Where the network runs.</summary>
    public Device Device { get; }

    /// <summary>Loads the weights from face-api's model folder (<c>weights/face-api</c> after <c>movingimages fetch faces</c>).</summary>
    public static TinyFaceDetector Load(string modelDirectory, Device? device = null)
    {
        var on = device ?? Runtime.TorchRuntime.DefaultDevice;
        return TfjsWeights.Build(Path.Combine(modelDirectory, ManifestName), w => new TinyFaceDetector(w, on), n => n.Forward(torch.zeros(1, 3, 128, 128, device: n.Device)));
    }

    /// <summary>Finds faces in an 8-bit BGR image, highest score first.</summary>
    public IReadOnlyList<FaceDetection> Detect(Mat image, TinyFaceDetectorOptions? options = null)
    {
        options ??= TinyFaceDetectorOptions.Default;
        if (options.InputSize < 32 || options.InputSize % 32 != 0) throw new ArgumentException($"input size must be a multiple of 32, got {options.InputSize}");
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        int size = options.InputSize;
        var output = Forward(Preprocess(image, size));                      // 1×25×g×g
        int grid = (int)output.shape[2];
        var cells = output[0].permute(1, 2, 0).reshape(grid, grid, Anchors.Length, 5).to(torch.CPU).contiguous().data<float>().ToArray();

        // face-api: boxes relative to the image inside the padded square, corrected by inputSize / reshaped size.
        double scale = (double)size / Math.Max(image.Rows, image.Cols);
        double corrX = size / Math.Round(image.Cols * scale), corrY = size / Math.Round(image.Rows * scale);
        var candidates = new List<(Box Relative, float Score)>();
        for (int row = 0; row < grid; row++)
            for (int col = 0; col < grid; col++)
                for (int a = 0; a < Anchors.Length; a++)
                {
                    int at = ((row * grid + col) * Anchors.Length + a) * 5;
                    float score = Sigmoid(cells[at + 4]);
                    if (score <= options.ScoreThreshold) continue;
                    double cx = (col + Sigmoid(cells[at])) / grid * corrX, cy = (row + Sigmoid(cells[at + 1])) / grid * corrY;
                    double w = Math.Exp(cells[at + 2]) * Anchors[a].W / grid * corrX, h = Math.Exp(cells[at + 3]) * Anchors[a].H / grid * corrY;
                    candidates.Add((new Box((float)(cx - w / 2), (float)(cy - h / 2), (float)w, (float)h), score));
                }
        // NMS as face-api runs it: on boxes scaled by the input size, IoU threshold 0.4.
        var kept = Nms.PerClass(candidates.Select((c, i) => new Detection(0, "face", c.Score,
            new Box(c.Relative.X * size, c.Relative.Y * size, c.Relative.Width * size, c.Relative.Height * size))).ToArray(), IouThreshold);
        return kept.Select(k => new FaceDetection(new Box(k.Box.X / size * image.Cols, k.Box.Y / size * image.Rows,
            k.Box.Width / size * image.Cols, k.Box.Height / size * image.Rows), k.Score)).ToArray();
    }

    /// <summary>face-api's input: RGB 0–255, zero-padded to a square (bottom/right), TF-bilinear resized, minus the mean, / 255.</summary>
    internal Tensor Preprocess(Mat image, int size)
    {
        return SquareImage.ResizeNormalized(image, size, centred: false, MeanRgb, Device);
    }

    /// <summary>The network on a preprocessed N×3×S×S input; returns N×25×(S/32)×(S/32) raw outputs.</summary>
    internal Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var y = Runtime.Scalars.LeakyRelu(Convolution.Conv2d(x, _conv0, _bias0));            // "valid"
        for (int i = 0; i < _separable.Length; i++)
        {
            y = TfOps.MaxPoolSame(y, 2, 2);
            var (dw, pw, b) = _separable[i];
            var padded = F.pad(y, [1, 1, 1, 1]);
            y = Runtime.Scalars.LeakyRelu(Convolution.Conv2d(Convolution.Conv2d(padded, dw, groups: padded.shape[1]), pw, b));
        }
        y = TfOps.MaxPoolSame(y, 2, 1);
        return Convolution.Conv2d(y, _conv8, _bias8).MoveToOuterDisposeScope();
    }

    static float Sigmoid(float v) => 1f / (1f + MathF.Exp(-v));

    /// <summary>Releases the weights.</summary>
    public void Dispose()
    {
        foreach (var t in new[] { _conv0, _bias0, _conv8, _bias8 }) t.Dispose();
        foreach (var (d, p, b) in _separable) { d.Dispose(); p.Dispose(); b.Dispose(); }
    }
}
