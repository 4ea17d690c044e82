using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MovingImages.Nn;

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
        using var padded = top + bottom + left + right == 0 ? x.alias()
            : F.pad(x, [left, right, top, bottom], PaddingModes.Constant, double.NegativeInfinity);
        if (k == 2) return Pooling.Max2x2(padded, s, (padded.shape[2] - 2) / s + 1, (padded.shape[3] - 2) / s + 1);
        return F.max_pool2d(padded, [k, k], [s, s]);
    }

    /// <summary>
    /// TF convolution with "same" padding (asymmetric when the stride is 2: the extra row/column goes after). Symmetric
    /// padding is the convolution's own (no padded copy of the input, forward or backward); only the asymmetric case pads first.
    /// </summary>
    public static Tensor ConvSame(Tensor x, Tensor weight, Tensor? bias, int stride, long groups = 1)
    {
        int k = (int)weight.shape[2];
        var (top, bottom) = SamePadding(x.shape[2], k, stride);
        var (left, right) = SamePadding(x.shape[3], k, stride);
        if (top == bottom && left == right)
            return F.conv2d(x, weight, bias, strides: [stride, stride], padding: [top, left], groups: groups);
        using var padded = F.pad(x, [left, right, top, bottom]);
        return F.conv2d(padded, weight, bias, strides: [stride, stride], groups: groups);
    }
}
