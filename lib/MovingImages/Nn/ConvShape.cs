using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.Nn;

/// <summary>
/// Where a 2-D convolution's windows go: strides, zero padding (the same before and after), dilation and groups,
/// as <c>torch.nn.functional.conv2d</c> takes them.
/// </summary>
public readonly record struct ConvGeometry(int StrideH = 1, int StrideW = 1, int PadH = 0, int PadW = 0, int DilationH = 1, int DilationW = 1, long Groups = 1)
{
    /// <summary>Square strides, padding and dilation.</summary>
    public static ConvGeometry Square(int stride = 1, int padding = 0, int dilation = 1, long groups = 1) =>
        new(stride, stride, padding, padding, dilation, dilation, groups);

    /// <summary>The output size along one axis for an input of <paramref name="size"/> and a kernel of <paramref name="k"/>.</summary>
    public static long OutputSize(long size, int k, int stride, int pad, int dilation) => (size + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
}

/// <summary>How a convolution is computed.</summary>
public enum ConvRoute
{
    /// <summary>libtorch's own convolution (oneDNN or its native kernels on a CPU).</summary>
    Native,
    /// <summary>libtorch's convolution on inputs and kernels zero-padded to a multiple of 16 input channels (the same numbers).</summary>
    PaddedChannels,
    /// <summary>The input's windows unfolded into rows (im2col) times the kernel: one matrix product per group.</summary>
    MatrixProduct,
    /// <summary>A low-precision (bf16, fp16) class computed as the float32 matrix product and rounded to its type: the last resort.</summary>
    Float32,
}

/// <summary>
/// A class of convolutions that libtorch computes with the same kernels: everything about a convolution except its batch
/// and image size. The self-check (<see cref="ConvolutionRouter"/>) tests each class once per process.
/// </summary>
/// <param name="InChannels">Input channels.</param>
/// <param name="OutChannels">Output channels.</param>
/// <param name="KernelH">Kernel height.</param>
/// <param name="KernelW">Kernel width.</param>
/// <param name="Geometry">Strides, padding, dilation, groups.</param>
/// <param name="DType">The arithmetic's type (float32, bfloat16, float16).</param>
/// <param name="ChannelsLast">Whether the input is stored channels-last (NHWC).</param>
/// <param name="Backward">Whether gradients flow back through it (training): the input and weight gradients are checked too.</param>
/// <param name="Preferred">The route the caller prefers when it computes the right numbers (tried first).</param>
/// <param name="Device">Where it runs.</param>
/// <param name="Threads">libtorch's intra-op threads on a CPU: its results depend on them (on the AVX-512-BF16 EPYC, 16
/// classes are wrong with 1 thread and right with 2), so each count is a class of its own. 0: the count of the thread
/// that asks (<see cref="ConvolutionRouter.Verdict"/> fills it in).</param>
public readonly record struct ConvShape(long InChannels, long OutChannels, int KernelH, int KernelW, ConvGeometry Geometry,
    ScalarType DType = ScalarType.Float32, bool ChannelsLast = false, bool Backward = false, ConvRoute Preferred = ConvRoute.Native,
    DeviceType Device = DeviceType.CPU, int Threads = 0)
{
    /// <summary>The class of the convolution <c>conv2d(x, weight, …)</c> would compute.</summary>
    public static ConvShape Of(Tensor x, Tensor weight, Tensor? bias, ConvGeometry geometry, ConvRoute preferred = ConvRoute.Native)
    {
        if (x.dim() != 4 || weight.dim() != 4)
            throw new ArgumentException($"a 2-D convolution takes a 4-D input and kernel, got input [{string.Join(", ", x.shape)}] and kernel [{string.Join(", ", weight.shape)}]");
        bool backward = torch.is_grad_enabled() && (x.requires_grad || weight.requires_grad || bias?.requires_grad == true);
        return new ConvShape(x.shape[1], weight.shape[0], (int)weight.shape[2], (int)weight.shape[3], geometry, x.dtype,
            Nn.ChannelsLast.Is(x), backward, preferred, x.device_type);
    }

    /// <summary>This class with <see cref="Threads"/> filled in: the calling thread's libtorch thread count on a CPU when it was 0.</summary>
    public ConvShape WithThreads() => Threads != 0 || Device != DeviceType.CPU ? this : this with { Threads = Runtime.IntraOpThreads.Current };

    /// <summary>Input channels each group sees.</summary>
    public long GroupInChannels => InChannels / Geometry.Groups;

    /// <summary>Multiply-adds per output position: output channels × input channels per group × kernel area.</summary>
    public long MacsPerPosition => OutChannels * GroupInChannels * KernelH * KernelW;

    /// <summary>Throws <see cref="ArgumentException"/> for a convolution that cannot exist.</summary>
    public ConvShape Validate()
    {
        var g = Geometry;
        if (InChannels < 1 || OutChannels < 1) throw new ArgumentException($"channels must be positive: {this.Describe()}");
        if (KernelH < 1 || KernelW < 1) throw new ArgumentException($"kernel must be positive: {this.Describe()}");
        if (g.StrideH < 1 || g.StrideW < 1 || g.DilationH < 1 || g.DilationW < 1 || g.PadH < 0 || g.PadW < 0)
            throw new ArgumentException($"strides and dilation must be positive, padding not negative: {this.Describe()}");
        if (g.Groups < 1 || InChannels % g.Groups != 0 || OutChannels % g.Groups != 0)
            throw new ArgumentException($"groups ({g.Groups}) must divide the input ({InChannels}) and output ({OutChannels}) channels");
        if (Threads < 0) throw new ArgumentException($"threads must be 0 (the asking thread's) or more, got {Threads}: {this.Describe()}");
        return this;
    }

    /// <summary>"24→32 3×3 stride 2 pad 1 (fp32, forward and backward, NCHW)".</summary>
    public string Describe()
    {
        var g = Geometry;
        string Pair(int a, int b) => a == b ? $"{a}" : $"{a}×{b}";
        var parts = new List<string> { $"{InChannels}→{OutChannels} {KernelH}×{KernelW}" };
        if (g.StrideH != 1 || g.StrideW != 1) parts.Add($"stride {Pair(g.StrideH, g.StrideW)}");
        if (g.PadH != 0 || g.PadW != 0) parts.Add($"pad {Pair(g.PadH, g.PadW)}");
        if (g.DilationH != 1 || g.DilationW != 1) parts.Add($"dilation {Pair(g.DilationH, g.DilationW)}");
        if (g.Groups != 1) parts.Add(g.Groups == InChannels ? "depthwise" : $"{g.Groups} groups");
        string type = DType switch { ScalarType.BFloat16 => "bf16", ScalarType.Float16 => "fp16", ScalarType.Float64 => "fp64", _ => "fp32" };
        string device = Device == DeviceType.CPU ? "" : $", {Device.ToString().ToLowerInvariant()}";
        return $"{string.Join(" ", parts)} ({type}, {(Backward ? "forward and backward" : "forward")}, {(ChannelsLast ? "channels-last" : "NCHW")}{device})";
    }
}
