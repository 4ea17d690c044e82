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
    /// padding is the convolution's own (no padded copy of the input, forward or backward); only the asymmetric case pads
    /// first. Computed through <see cref="Convolution"/> (checked right on this CPU), by <paramref name="preferred"/>
    /// where that route is right.
    /// </summary>
    public static Tensor ConvSame(Tensor x, Tensor weight, Tensor? bias, int stride, long groups = 1, ConvRoute preferred = ConvRoute.Native)
    {
        int k = (int)weight.shape[2];
        var (top, bottom) = SamePadding(x.shape[2], k, stride);
        var (left, right) = SamePadding(x.shape[3], k, stride);
        if (top == bottom && left == right)
            return Convolution.Conv2d(x, weight, bias, new ConvGeometry(stride, stride, top, left, 1, 1, groups), preferred);
        using var padded = F.pad(x, [left, right, top, bottom]);
        return Convolution.Conv2d(padded, weight, bias, new ConvGeometry(stride, stride, 0, 0, 1, 1, groups), preferred);
    }

    /// <summary>
    /// <see cref="ConvSame"/> computed as one matrix product (<see cref="ConvRoute.MatrixProduct"/>): the input's k×k
    /// patches unfolded into rows (im2col), times the kernel. For many input channels over a few output positions (the
    /// faceswap encoder's last convolutions: 512→1024 channels, 5×5, 4×4 outputs) libtorch's convolution kernels use the
    /// cores poorly, its weight gradient above all, and the product is 2–2.5× faster forward and backward; elsewhere the
    /// convolution wins (<see cref="PreferGemm"/> says where). The output is stored channels-last. Groups are not supported.
    /// </summary>
    public static Tensor ConvSameAsGemm(Tensor x, Tensor weight, Tensor? bias, int stride) =>
        ConvSame(x, weight, bias, stride, 1, ConvRoute.MatrixProduct);

    /// <summary>
    /// Whether <see cref="ConvSameAsGemm"/> is the faster way for this convolution (measured on AVX-512 CPUs with
    /// oneDNN, float32 and bfloat16, batches 16 and 64): at most 16 output positions and at least 8,192 values per patch
    /// (input channels × k²). Below that the convolution kernels win, up to 2× on larger images.
    /// </summary>
    public static bool PreferGemm(long height, long width, long inChannels, int k, int stride) =>
        (height + stride - 1) / stride * ((width + stride - 1) / stride) <= 16 && inChannels * k * k >= 8192;
}
