using MovingImages.Imaging;
using MovingImages.Runtime;
using OpenCvSharp;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using Size = OpenCvSharp.Size;
using MovingImages.Nn;
using MovingImages.Geometry;

namespace MovingImages.FaceAnalysis;

/// <summary>
/// face-api's 68-point landmark network on TorchSharp: four dense blocks of depthwise-separable convolutions (TF "same"
/// padding) over a 112×112 crop, 7×7 average pooling and a fully connected layer to 68 (x, y) pairs. As in face-api, the
/// face is cut from the image at the detection box (floored, clipped to the image), padded to a square centred, resized
/// with TF's bilinear resize, mean-subtracted and scaled; points come back in image pixels.
/// </summary>
public sealed class FaceLandmark68Net : IDisposable
{
    /// <summary>The manifest's file name in face-api's model folder.</summary>
    public const string ManifestName = "face_landmark_68_model-weights_manifest.json";
    const int InputSize = 112;
    static readonly float[] MeanRgb = [122.782f, 117.001f, 104.298f];

    sealed record Separable(Tensor Depthwise, Tensor Pointwise, Tensor Bias);
    readonly Tensor _conv0, _bias0, _fcWeights, _fcBias;
    readonly Separable[][] _blocks; // dense0: conv1..3; dense1–3: conv0..3

    FaceLandmark68Net(TfjsWeights w, Device device, Precision precision)
    {
        Device = device;
        Precision = precision;
        var compute = precision.ComputeType();
        Separable Sep(string p) => new(w.Depthwise($"{p}/depthwise_filter").to(device).to_type(compute), w.Conv($"{p}/pointwise_filter").to(device).to_type(compute),
            w.Get($"{p}/bias").to(device).to_type(compute));
        _conv0 = w.Conv("dense0/conv0/filters").to(device).to_type(compute);
        _bias0 = w.Get("dense0/conv0/bias").to(device).to_type(compute);
        _blocks = Enumerable.Range(0, 4).Select(b => Enumerable.Range(b == 0 ? 1 : 0, b == 0 ? 3 : 4).Select(c => Sep($"dense{b}/conv{c}")).ToArray()).ToArray();
        _fcWeights = w.Get("fc/weights", 256, 136).to(device);
        _fcBias = w.Get("fc/bias", 136).to(device);
    }

    /// <summary>Where the network runs.</summary>
    public Device Device { get; }
    /// <summary>The convolutions' arithmetic (weights converted once, at load); input and output stay float32.</summary>
    public Precision Precision { get; }

    /// <summary>Loads the weights from face-api's model folder; bf16: the convolutions in bfloat16, the dense layer in float32.</summary>
    public static FaceLandmark68Net Load(string modelDirectory, Device? device = null, Precision precision = Precision.Float32)
    {
        var on = device ?? Runtime.TorchRuntime.DefaultDevice;
        if (precision != Precision.Float32) Runtime.CpuFeatures.WarnIfEmulated(precision, on, Console.Error);
        return TfjsWeights.Build(Path.Combine(modelDirectory, ManifestName), w => new FaceLandmark68Net(w, on, precision), n => n.Forward(torch.zeros(1, 3, InputSize, InputSize, device: n.Device)));
    }

    /// <summary>The 68 landmarks of the face in <paramref name="box"/> (a detection box in image pixels), in image pixels.</summary>
    public FaceLandmarks68 Detect(Mat image, Box box)
    {
        var crop = FaceCrop.CutOut(image, box);
        if (crop == null) return new FaceLandmarks68([], new Size(0, 0));
        using (crop)
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var output = Forward(Preprocess(crop)).to(torch.CPU).contiguous().data<float>().ToArray();
            // face-api's postProcess: undo the centred padding in the 112 input, relative to the crop.
            float scale = (float)InputSize / Math.Max(crop.Rows, crop.Cols);
            float w = crop.Cols * scale, h = crop.Rows * scale;
            float padX = w < h ? Math.Abs(w - h) / 2 : 0, padY = h < w ? Math.Abs(w - h) / 2 : 0;
            var points = new Point2f[68];
            for (int i = 0; i < 68; i++)
            {
                float rx = (output[2 * i] * InputSize - padX) / w, ry = (output[2 * i + 1] * InputSize - padY) / h;
                points[i] = new Point2f(rx * crop.Cols + box.X, ry * crop.Rows + box.Y); // shifted by the (unfloored) box, as face-api
            }
            return new FaceLandmarks68(points, new Size(crop.Cols, crop.Rows));
        }
    }

    /// <summary>Crop → centred square (face-api's padToSquare), TF-bilinear 112×112, minus the mean, / 255.</summary>
    internal Tensor Preprocess(Mat crop)
    {
        return SquareImage.ResizeNormalized(crop, InputSize, centred: true, MeanRgb, Device);
    }

    internal Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        x = x.to_type(Precision.ComputeType());
        for (int b = 0; b < 4; b++)
        {
            var seps = _blocks[b];
            Tensor out1 = b == 0 ? F.relu(TfOps.ConvSame(x, _conv0, _bias0, 2)) : F.relu(Apply(x, seps[0], 2));
            var rest = b == 0 ? seps : seps[1..];
            var out2 = Apply(out1, rest[0], 1);
            var out3 = Apply(F.relu(Scalars.Sum(out1, out2)), rest[1], 1);
            var out4 = Apply(F.relu(Scalars.Sum(out1, out2, out3)), rest[2], 1);
            x = F.relu(Scalars.Sum(out1, out2, out3, out4));
        }
        var pooled = F.avg_pool2d(x, [7, 7], [2, 2]).to_type(ScalarType.Float32); // 1×256×1×1
        return Scalars.Sum(pooled.flatten(1).matmul(_fcWeights), _fcBias).MoveToOuterDisposeScope();
    }

    static Tensor Apply(Tensor x, Separable s, int stride) =>
        Convolution.Conv2d(TfOps.ConvSame(x, s.Depthwise, null, stride, x.shape[1]), s.Pointwise, s.Bias);

    /// <summary>Releases the weights.</summary>
    public void Dispose()
    {
        foreach (var t in new[] { _conv0, _bias0, _fcWeights, _fcBias }) t.Dispose();
        foreach (var s in _blocks.SelectMany(b => b)) { s.Depthwise.Dispose(); s.Pointwise.Dispose(); s.Bias.Dispose(); }
    }
}

/// <summary>68 facial landmarks in image pixels (dlib's order: jaw 0–16, brows 17–26, nose 27–35, eyes 36–47, mouth 48–67).</summary>
/// <param name="Points">The points.</param>
/// <param name="Crop">Size of the face crop they were found in (face-api's alignment uses it).</param>
public sealed record FaceLandmarks68(Point2f[] Points, Size Crop)
{
    static Point2f Center(IEnumerable<Point2f> pts)
    {
        var list = pts.ToArray();
        return new Point2f(list.Sum(p => p.X) / list.Length, list.Sum(p => p.Y) / list.Length);
    }

    /// <summary>Centre of the left eye (points 36–41).</summary>
    public Point2f LeftEye => Center(Points[36..42]);
    /// <summary>Centre of the right eye (points 42–47).</summary>
    public Point2f RightEye => Center(Points[42..48]);
    /// <summary>Centre of the mouth (points 48–67).</summary>
    public Point2f Mouth => Center(Points[48..68]);

    /// <summary>
    /// face-api's dlib-style alignment box for the descriptor network: a square of side (mean eye–mouth distance / 0.45)
    /// placed by the centre of eyes and mouth (0.5 across, 0.43 down).
    /// </summary>
    public Box DlibAlignmentBox()
    {
        var (l, r, m) = (LeftEye, RightEye, Mouth);
        double Dist(Point2f a) => Math.Sqrt((m.X - a.X) * (m.X - a.X) + (m.Y - a.Y) * (m.Y - a.Y));
        double size = Math.Floor((Dist(l) + Dist(r)) / 2 / 0.45);
        double cx = (l.X + r.X + m.X) / 3, cy = (l.Y + r.Y + m.Y) / 3;
        double x = Math.Floor(Math.Max(0, cx - 0.5 * size)), y = Math.Floor(Math.Max(0, cy - 0.43 * size));
        return new Box((float)x, (float)y, (float)Math.Min(size, Crop.Width + x), (float)Math.Min(size, Crop.Height + y));
    }
}

/// <summary>How face-api cuts faces out of an image for the landmark and descriptor networks.</summary>
internal static class FaceCrop
{
    /// <summary>The box clipped to the image and floored (face-api's clipAtImageBorders), cut out; null when empty.</summary>
    public static Mat? CutOut(Mat image, Box box)
    {
        float x = Math.Max(box.X, 0), y = Math.Max(box.Y, 0);
        float w = Math.Min(box.Right - x, image.Cols - x), h = Math.Min(box.Bottom - y, image.Rows - y);
        int ix = (int)MathF.Floor(x), iy = (int)MathF.Floor(y), iw = (int)MathF.Floor(w), ih = (int)MathF.Floor(h);
        if (iw <= 0 || ih <= 0) return null;
        return new Mat(image, new Rect(ix, iy, iw, ih)).Clone();
    }
}
