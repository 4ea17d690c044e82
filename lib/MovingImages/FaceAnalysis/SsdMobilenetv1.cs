using MovingImages.Imaging;
using OpenCvSharp;
using TorchSharp;
using static TorchSharp.torch;
using MovingImages.Runtime;
using MovingImages.Nn;
using MovingImages.Geometry;

namespace MovingImages.FaceAnalysis;

/// <summary>Options of the SSD face detector (face-api's SsdMobilenetv1Options).</summary>
/// <param name="MinConfidence">Minimum score.</param>
/// <param name="MaxResults">Most faces returned.</param>
public sealed record SsdMobilenetv1Options(float MinConfidence = 0.5f, int MaxResults = 100)
{
    /// <summary>The defaults (0.5, 100).</summary>
    public static SsdMobilenetv1Options Default { get; } = new();
}

/// <summary>
/// face-api's SSD-MobileNetV1 face detector on TorchSharp: MobileNetV1 (relu6, batch norm folded into the depthwise
/// convolutions, TF "same" padding — asymmetric at stride 2), six SSD box predictors over 5,118 anchors, box decoding with
/// variances 10/5, and greedy NMS at IoU 0.5. Input: padded to a square at the bottom/right, TF-bilinear resized to 512,
/// scaled to [−1, 1].
/// </summary>
public sealed class SsdMobilenetv1 : IDisposable
{
    /// <summary>The manifest's file name in face-api's model folder.</summary>
    public const string ManifestName = "ssd_mobilenetv1_model-weights_manifest.json";
    const int InputSize = 512;
    const float BatchNormEpsilon = 0.0010000000474974513f;
    const float IouThreshold = 0.5f;

    sealed record Conv(Tensor Weight, Tensor Bias, int Stride, long Groups = 1);

    readonly Conv _conv0;
    readonly (Conv Depthwise, Conv Pointwise)[] _pairs;
    readonly Conv[] _prediction;
    readonly (Conv Box, Conv Class)[] _predictors;
    readonly Tensor _anchors; // 5118 × 4: ymin, xmin, ymax, xmax

    SsdMobilenetv1(TfjsWeights w, Device device, Precision precision)
    {
        Device = device;
        Precision = precision;
        var compute = precision.ComputeType();
        Conv Pointwise(string prefix, int stride) =>
            new(w.Conv($"{prefix}/weights").to(device).to_type(compute), w.Get($"{prefix}/convolution_bn_offset").to(device).to_type(compute), stride);
        _conv0 = Pointwise("MobilenetV1/Conv2d_0_pointwise", 2);
        _pairs = Enumerable.Range(1, 13).Select(i =>
        {
            string p = $"MobilenetV1/Conv2d_{i}_depthwise";
            var filters = w.Depthwise($"{p}/depthwise_weights");
            var scale = w.Get($"{p}/BatchNorm/gamma") / Scalars.Add(w.Get($"{p}/BatchNorm/moving_variance"), BatchNormEpsilon).sqrt();
            var bias = w.Get($"{p}/BatchNorm/beta") - w.Get($"{p}/BatchNorm/moving_mean") * scale;
            var depthwise = new Conv((filters * scale.view(-1, 1, 1, 1)).to(device).to_type(compute), bias.to(device).to_type(compute), i is 2 or 4 or 6 or 12 ? 2 : 1, filters.shape[0]);
            return (depthwise, Pointwise($"MobilenetV1/Conv2d_{i}_pointwise", 1));
        }).ToArray();
        _prediction = Enumerable.Range(0, 8).Select(i => Pointwise($"Prediction/Conv2d_{i}_pointwise", i % 2 == 1 ? 2 : 1)).ToArray();
        _predictors = Enumerable.Range(0, 6).Select(i =>
        {
            string p = $"Prediction/BoxPredictor_{i}";
            return (new Conv(w.Conv($"{p}/BoxEncodingPredictor/weights").to(device).to_type(compute), w.Get($"{p}/BoxEncodingPredictor/biases").to(device).to_type(compute), 1),
                    new Conv(w.Conv($"{p}/ClassPredictor/weights").to(device).to_type(compute), w.Get($"{p}/ClassPredictor/biases").to(device).to_type(compute), 1));
        }).ToArray();
        _anchors = w.Get("Output/extra_dim", 1, 5118, 4)[0].to(device).contiguous();
    }

    /// <summary>Where the network runs.</summary>
    public Device Device { get; }
    /// <summary>The convolutions' arithmetic (weights converted once, at load); box decoding stays float32.</summary>
    public Precision Precision { get; }

    /// <summary>Loads the weights from face-api's model folder; bf16: the convolutions in bfloat16, the anchors and decoding in float32.</summary>
    public static SsdMobilenetv1 Load(string modelDirectory, Device? device = null, Precision precision = Precision.Float32)
    {
        var on = device ?? Runtime.TorchRuntime.DefaultDevice;
        if (precision != Precision.Float32) Runtime.CpuFeatures.WarnIfEmulated(precision, on, Console.Error);
        return TfjsWeights.Build(Path.Combine(modelDirectory, ManifestName), w => new SsdMobilenetv1(w, on, precision), n => n.Forward(torch.zeros(1, 3, InputSize, InputSize, device: n.Device)));
    }

    /// <summary>Finds faces in an 8-bit BGR image, highest score first.</summary>
    public IReadOnlyList<FaceDetection> Detect(Mat image, SsdMobilenetv1Options? options = null)
    {
        options ??= SsdMobilenetv1Options.Default;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (boxes, scores) = Forward(Preprocess(image));
        var b = boxes[0].to(torch.CPU).contiguous().data<float>().ToArray();
        var s = scores[0].to(torch.CPU).contiguous().data<float>().ToArray();
        var candidates = new List<Detection>();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] <= options.MinConfidence) continue;
            float ymin = Math.Min(b[4 * i], b[4 * i + 2]), xmin = Math.Min(b[4 * i + 1], b[4 * i + 3]);
            float ymax = Math.Max(b[4 * i], b[4 * i + 2]), xmax = Math.Max(b[4 * i + 1], b[4 * i + 3]);
            candidates.Add(new Detection(0, "face", s[i], Box.FromCorners(xmin, ymin, xmax, ymax)));
        }
        var kept = Nms.PerClass(candidates, IouThreshold).Take(options.MaxResults);
        double scale = (double)InputSize / Math.Max(image.Rows, image.Cols);
        float padX = (float)(InputSize / Math.Round(image.Cols * scale)), padY = (float)(InputSize / Math.Round(image.Rows * scale));
        return kept.Select(k =>
        {
            var raw = k;
            // face-api clips to [0, 1] before undoing the padding, then scales to the image.
            float left = Math.Max(0, raw.Box.X) * padX, right = Math.Min(1, raw.Box.Right) * padX;
            float top = Math.Max(0, raw.Box.Y) * padY, bottom = Math.Min(1, raw.Box.Bottom) * padY;
            return new FaceDetection(new Box(left * image.Cols, top * image.Rows, (right - left) * image.Cols, (bottom - top) * image.Rows), k.Score);
        }).ToArray();
    }

    /// <summary>face-api's SSD input: zero-padded to a square (bottom/right), TF-bilinear resized to 512, x / 127.5 − 1.</summary>
    internal Tensor Preprocess(Mat image)
    {
        using var scope = torch.NewDisposeScope();
        return Scalars.Sub(Scalars.Div(SquareImage.Resize(image, InputSize, centred: false, Device), 127.5), 1.0).MoveToOuterDisposeScope();
    }

    static Tensor Relu6(Tensor x) => Scalars.Clamp(x, 0.0, 6.0);

    static Tensor Apply(Tensor x, Conv c) => TfOps.ConvSame(x, c.Weight, c.Bias, c.Stride, c.Groups);

    /// <summary>The network: decoded boxes (N×5118×4, ymin xmin ymax xmax, fractions of the input) and face scores (N×5118).</summary>
    internal (Tensor Boxes, Tensor Scores) Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var y = Relu6(Apply(x.to_type(Precision.ComputeType()), _conv0));
        Tensor? conv11 = null;
        for (int i = 0; i < _pairs.Length; i++)
        {
            y = Relu6(Apply(y, _pairs[i].Depthwise));
            y = Relu6(Apply(y, _pairs[i].Pointwise));
            if (i + 1 == 11) conv11 = y;
        }
        var features = new List<Tensor> { conv11!, y };
        var p = y;
        for (int i = 0; i < _prediction.Length; i++)
        {
            p = Relu6(Apply(p, _prediction[i]));
            if (i % 2 == 1) features.Add(p);                                  // conv1, conv3, conv5, conv7
        }
        long n = x.shape[0];
        var encodings = new List<Tensor>();
        var classes = new List<Tensor>();
        for (int i = 0; i < _predictors.Length; i++)
        {
            encodings.Add(Apply(features[i], _predictors[i].Box).permute(0, 2, 3, 1).reshape(n, -1, 4));
            classes.Add(Apply(features[i], _predictors[i].Class).permute(0, 2, 3, 1).reshape(n, -1, 3));
        }
        var enc = torch.cat(encodings.ToArray(), 1).to_type(ScalarType.Float32); // N × 5118 × 4
        var cls = torch.cat(classes.ToArray(), 1).to_type(ScalarType.Float32);   // N × 5118 × 3
        var a = _anchors.unsqueeze(0);
        var sizes0 = a[.., .., 2] - a[.., .., 0];
        var sizes1 = a[.., .., 3] - a[.., .., 1];
        var centers0 = Scalars.Sum(a[.., .., 0], Scalars.Div(sizes0, 2));
        var centers1 = Scalars.Sum(a[.., .., 1], Scalars.Div(sizes1, 2));
        var half0 = Scalars.Div(Scalars.Div(enc[.., .., 2], 5).exp() * sizes0, 2);
        var center0 = Scalars.Sum(Scalars.Div(enc[.., .., 0], 10) * sizes0, centers0);
        var half1 = Scalars.Div(Scalars.Div(enc[.., .., 3], 5).exp() * sizes1, 2);
        var center1 = Scalars.Sum(Scalars.Div(enc[.., .., 1], 10) * sizes1, centers1);
        var boxes = torch.stack([center0 - half0, center1 - half1, Scalars.Sum(center0, half0), Scalars.Sum(center1, half1)], -1);
        var scores = cls[.., .., 1].sigmoid();
        return (boxes.MoveToOuterDisposeScope(), scores.MoveToOuterDisposeScope());
    }

    /// <summary>Releases the weights.</summary>
    public void Dispose()
    {
        foreach (var c in new[] { _conv0 }.Concat(_pairs.SelectMany(p => new[] { p.Depthwise, p.Pointwise })).Concat(_prediction)
                     .Concat(_predictors.SelectMany(p => new[] { p.Box, p.Class })))
        {
            c.Weight.Dispose();
            c.Bias.Dispose();
        }
        _anchors.Dispose();
    }
}
