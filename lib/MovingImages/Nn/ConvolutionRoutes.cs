using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MovingImages.Nn;

/// <summary>A way to compute <c>conv2d(x, weight, bias)</c> with a geometry.</summary>
public delegate Tensor ConvKernel(Tensor x, Tensor weight, Tensor? bias, ConvGeometry geometry);

/// <summary>
/// The kernels the router chooses between. <see cref="Libtorch"/> is what runs; a test passes its own (one that computes
/// a class of shapes wrong on purpose, as libtorch does on some CPUs) to prove the self-check and the routing.
/// The padded-channels route is built over <see cref="Native"/>: it is libtorch's convolution on other shapes.
/// </summary>
/// <param name="Native">libtorch's convolution.</param>
/// <param name="MatrixProduct">The im2col matrix product.</param>
public sealed record ConvKernels(ConvKernel Native, ConvKernel MatrixProduct)
{
    /// <summary>libtorch's kernels.</summary>
    public static ConvKernels Libtorch { get; } = new(ConvolutionRoutes.Native, ConvolutionRoutes.MatrixProduct);

    /// <summary>The kernel of <paramref name="route"/>.</summary>
    public ConvKernel For(ConvRoute route) => route switch
    {
        ConvRoute.Native => Native,
        ConvRoute.PaddedChannels => (x, w, b, g) => ConvolutionRoutes.PaddedChannels(Native, x, w, b, g),
        ConvRoute.MatrixProduct => MatrixProduct,
        ConvRoute.Float32 => (x, w, b, g) => ConvolutionRoutes.InFloat32(MatrixProduct, x, w, b, g),
        _ => throw new ArgumentOutOfRangeException(nameof(route), route, "unknown route"),
    };
}

/// <summary>The routes a convolution can take (<see cref="ConvRoute"/>); each computes the same numbers up to float rounding.</summary>
public static class ConvolutionRoutes
{
    /// <summary>The channel multiple the padded route pads to (oneDNN's AVX-512 block of float32 channels).</summary>
    public const int ChannelBlock = 16;

    /// <summary>libtorch's <c>conv2d</c>: the one call into it in the library.</summary>
    public static Tensor Native(Tensor x, Tensor weight, Tensor? bias, ConvGeometry g) =>
        F.conv2d(x, weight, bias, strides: [g.StrideH, g.StrideW], padding: [g.PadH, g.PadW], dilation: [g.DilationH, g.DilationW], groups: g.Groups);

    /// <summary>Whether the padded-channels route applies: one group whose channel count is not a multiple of <see cref="ChannelBlock"/>.</summary>
    public static bool CanPadChannels(in ConvShape shape) => shape.Geometry.Groups == 1 && shape.InChannels % ChannelBlock != 0;

    /// <summary>
    /// <paramref name="native"/> on the input and kernel zero-padded to a multiple of <see cref="ChannelBlock"/> input
    /// channels: the added channels multiply zeros, so the numbers are the convolution's (the gradients of the added
    /// channels are dropped by the padding's backward). The input keeps its memory order.
    /// </summary>
    public static Tensor PaddedChannels(ConvKernel native, Tensor x, Tensor weight, Tensor? bias, ConvGeometry g)
    {
        if (g.Groups != 1) throw new ArgumentException("the padded-channels route takes one group");
        long c = x.shape[1], extra = (c + ChannelBlock - 1) / ChannelBlock * ChannelBlock - c;
        if (extra == 0) return native(x, weight, bias, g);
        using var padded = F.pad(x, [0, 0, 0, 0, 0, extra]);
        using var input = ChannelsLast.Is(x) ? ChannelsLast.Of(padded) : padded.alias();
        using var kernel = F.pad(weight, [0, 0, 0, 0, 0, extra]);
        return native(input, kernel, bias, g);
    }

    /// <summary>
    /// <paramref name="kernel"/> in float32 on the input, kernel and bias cast up, the output cast back to the input's
    /// type: for a low-precision class no low-precision route computes right (the gradients flow back through the casts).
    /// </summary>
    public static Tensor InFloat32(ConvKernel kernel, Tensor x, Tensor weight, Tensor? bias, ConvGeometry g)
    {
        if (x.dtype == ScalarType.Float32) return kernel(x, weight, bias, g);
        using var input = x.to_type(ScalarType.Float32);
        using var w = weight.to_type(ScalarType.Float32);
        using var b = bias?.to_type(ScalarType.Float32);
        using var y = kernel(input, w, b, g);
        return y.to_type(x.dtype);
    }

    /// <summary>
    /// The convolution as matrix products: the input's windows unfolded into rows (im2col), times the kernel, one product
    /// per group (a batched product when there are several). Any stride, padding, dilation and groups. The output is
    /// stored channels-last (the product's natural order).
    /// </summary>
    public static Tensor MatrixProduct(Tensor x, Tensor weight, Tensor? bias, ConvGeometry g)
    {
        long n = x.shape[0], c = x.shape[1], o = weight.shape[0], groups = g.Groups;
        int kh = (int)weight.shape[2], kw = (int)weight.shape[3];
        long oh = ConvGeometry.OutputSize(x.shape[2], kh, g.StrideH, g.PadH, g.DilationH);
        long ow = ConvGeometry.OutputSize(x.shape[3], kw, g.StrideW, g.PadW, g.DilationW);
        long positions = oh * ow, rowLength = c / groups * kh * kw, og = o / groups;
        using var windows = F.unfold(x, (kh, kw), dilation: (g.DilationH, g.DilationW), padding: (g.PadH, g.PadW), stride: (g.StrideH, g.StrideW)); // N × C·kh·kw × positions
        Tensor product;                                                                                                   // N·positions × O, in (group, channel) order
        if (groups == 1)
        {
            using var rows = windows.transpose(1, 2).reshape(n * positions, rowLength);
            using var kernel = weight.view(o, rowLength).t();
            product = rows.matmul(kernel);
        }
        else
        {
            using var rows = windows.view(n, groups, rowLength, positions).permute(1, 0, 3, 2).reshape(groups, n * positions, rowLength);
            using var kernel = weight.view(groups, og, rowLength).transpose(1, 2);
            using var perGroup = rows.bmm(kernel);                                                                        // groups × N·positions × og
            product = perGroup.permute(1, 0, 2).reshape(n * positions, o);
        }
        using (product)
        {
            using var withBias = bias is null ? product.alias() : product.add(bias, Runtime.Scalars.OneInteger);
            return withBias.view(n, oh, ow, o).permute(0, 3, 1, 2);
        }
    }
}
