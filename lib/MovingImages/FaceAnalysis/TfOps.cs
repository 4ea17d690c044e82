using MovingImages.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MovingImages.FaceAnalysis;

/// <summary>TensorFlow's conventions, reproduced on NCHW torch tensors so ported networks compute the same numbers.</summary>
internal static class TfOps
{
    /// <summary>TF "same" padding for a window of <paramref name="k"/> and stride <paramref name="s"/>: (before, after), the extra pixel after.</summary>
    public static (int Before, int After) SamePadding(long size, int k, int s)
    {
        long output = (size + s - 1) / s;
        long total = Math.Max((output - 1) * s + k - size, 0);
        return ((int)(total / 2), (int)(total - total / 2));
    }

    /// <summary>TF max pool with "same" padding (padded cells never win).</summary>
    public static Tensor MaxPoolSame(Tensor x, int k, int s)
    {
        var (top, bottom) = SamePadding(x.shape[2], k, s);
        var (left, right) = SamePadding(x.shape[3], k, s);
        using var padded = F.pad(x, [left, right, top, bottom], PaddingModes.Constant, double.NegativeInfinity);
        return F.max_pool2d(padded, [k, k], [s, s]);
    }

    /// <summary>TF convolution with "same" padding (asymmetric when the stride is 2: the extra row/column goes after).</summary>
    public static Tensor ConvSame(Tensor x, Tensor weight, Tensor? bias, int stride, long groups = 1)
    {
        int k = (int)weight.shape[2];
        var (top, bottom) = SamePadding(x.shape[2], k, stride);
        var (left, right) = SamePadding(x.shape[3], k, stride);
        using var padded = top + bottom + left + right == 0 ? x.alias() : F.pad(x, [left, right, top, bottom]);
        return F.conv2d(padded, weight, bias, strides: [stride, stride], groups: groups);
    }

    /// <summary>
    /// face-api's input preparation in one pass: the image zero-padded to a square (at the bottom/right, or centred as
    /// padToSquare(isCenterImage) does: Math.round(diff / 2) after, the rest before), then tf.image.resizeBilinear
    /// (legacy sampling) to <paramref name="size"/>. Returns 1×3×S×S RGB in 0–255 on <paramref name="device"/>.
    /// Computed on the original pixels only — the padded square is never built — so big photos stay cheap.
    /// </summary>
    public static Tensor SquareResize(OpenCvSharp.Mat image, int size, bool centred, Device device)
    {
        using var scope = torch.NewDisposeScope();
        using var hwc = Imaging.ImageTensor.ToBgrBytes(image);                 // H×W×3 uint8, BGR
        long h = hwc.shape[0], w = hwc.shape[1], side = Math.Max(h, w);
        long diffH = side - h, diffW = side - w;
        long offY = centred ? diffH - (long)Math.Floor(diffH * 0.5 + 0.5) : 0;
        long offX = centred ? diffW - (long)Math.Floor(diffW * 0.5 + 0.5) : 0;
        var x = hwc.to(device);
        var rows = Sample(x, 0, side, offY, h, size);                          // S×W×3 float
        var both = Sample(rows, 1, side, offX, w, size);                        // S×S×3
        return both.flip(2).permute(2, 0, 1).unsqueeze(0).contiguous().MoveToOuterDisposeScope();

        static Tensor Sample(Tensor t, int dim, long padded, long offset, long original, int outSize)
        {
            double scale = (double)padded / outSize;
            var src = Scalars.Mul(Scalars.Arange(outSize, ScalarType.Float64), scale);
            var i0 = src.floor().to_type(ScalarType.Int64);
            var i1 = Scalars.Clamp(Scalars.Add(i0, 1L), 0L, padded - 1);
            var frac = (src - i0.to_type(ScalarType.Float64)).to_type(ScalarType.Float32);
            var j0 = Scalars.Sub(i0, offset);
            var j1 = Scalars.Sub(i1, offset);
            var valid0 = (Scalars.GreaterEqual(j0, 0) & Scalars.Less(j0, original)).to_type(ScalarType.Float32);
            var valid1 = (Scalars.GreaterEqual(j1, 0) & Scalars.Less(j1, original)).to_type(ScalarType.Float32);
            var shape = Enumerable.Repeat(1L, (int)t.dim()).ToArray();
            shape[dim] = outSize;
            var device = t.device;
            var a = t.index_select(dim, Scalars.Clamp(j0, 0L, original - 1).to(device)).to_type(ScalarType.Float32);
            var b = t.index_select(dim, Scalars.Clamp(j1, 0L, original - 1).to(device)).to_type(ScalarType.Float32);
            var wa = (Scalars.Sub(1.0, frac) * valid0).view(shape).to(device);
            var wb = (frac * valid1).view(shape).to(device);
            return Scalars.Sum(a * wa, b * wb);
        }
    }

    /// <summary><see cref="SquareResize"/>, then face-api's normalisation: minus the per-channel RGB mean, divided by 255.</summary>
    public static Tensor SquareResizeNormalized(OpenCvSharp.Mat image, int size, bool centred, float[] meanRgb, Device device)
    {
        using var scope = torch.NewDisposeScope();
        var resized = SquareResize(image, size, centred, device);
        var mean = torch.tensor(meanRgb, device: device).view(1, 3, 1, 1);
        return Scalars.Div(resized - mean, 255.0).MoveToOuterDisposeScope();
    }
}
