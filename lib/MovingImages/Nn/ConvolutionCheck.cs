using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.Nn;

/// <summary>One route tried on one class of shapes: right, or what was wrong (<c>"output differs by 10.1 (of 50.2)"</c>).</summary>
/// <param name="Route">The route.</param>
/// <param name="Error">Null when it computed the right numbers.</param>
/// <param name="Elapsed">The time the libtorch side of the trial took.</param>
/// <param name="Margin">The largest difference from the reference as a fraction of the tolerance (right: at most 1).</param>
/// <param name="Worst">The result that came closest to the tolerance, and by how much it differed.</param>
public sealed record ConvTrial(ConvRoute Route, string? Error, TimeSpan Elapsed, double Margin, string Worst)
{
    /// <summary>Whether the route computed the right numbers.</summary>
    public bool Right => Error is null;
}

/// <summary>
/// The self-check of one class of convolutions: a small random input through a route, forward (and backward where the
/// class trains), held element by element to <see cref="ReferenceConvolution"/> computed in plain C#.
/// </summary>
/// <remarks>
/// <para>The input is 2 images (1 for the widest classes) whose outputs are 4×4 — the libtorch bug this guards against
/// shows at every size from 4 pixels up. A class with more than 48 output channels is checked with fewer,
/// <see cref="CheckedOutChannels"/> (32–47: two blocks of 16 and the same remainder, so the same blocking of output channels): the
/// check's cost then grows with the input channels and the kernel only, not with the width of the layer (the chapter's
/// widest has 19 million weights). Input channels, kernel, geometry, type, memory order and direction are the class's own.</para>
/// <para>Inputs are uniform in [−1, 1), rounded to the class's type first (bfloat16, float16) so that the route and the
/// reference multiply the same numbers; the upstream gradient is rank one, <c>r ⊗ s</c>, with factors from
/// {±0.5, ±0.75, …, ±1.75} whose products every type holds exactly. A result is right when it is finite and no element
/// differs from the reference by more than <see cref="Tolerance"/> × the largest reference element.</para>
/// </remarks>
public sealed class ConvolutionCheck
{
    /// <summary>Output positions per side of the check's input (4×4 outputs, 2 images, unless the class is large).</summary>
    public const int OutputSide = 4;

    readonly ConvShape _shape;
    readonly ReferenceConvolution _reference;
    readonly int _n, _h, _w;
    readonly long _o;
    readonly float[] _x, _kernel, _bias, _r, _s;
    float[]? _y;
    double[]? _dx, _dw, _db;

    /// <summary>Prepares the check of <paramref name="shape"/>: inputs seeded from the shape, so a check is the same run after run.</summary>
    public ConvolutionCheck(ConvShape shape)
    {
        _shape = shape.Validate();
        var g = shape.Geometry;
        _o = CheckedOutChannels(shape);
        // Two images, except where one is already millions of multiply-adds.
        _n = _o * shape.GroupInChannels * shape.KernelH * shape.KernelW * OutputSide * OutputSide > 1_000_000 ? 1 : 2;
        _h = InputSize(shape.KernelH, g.StrideH, g.PadH, g.DilationH);
        _w = InputSize(shape.KernelW, g.StrideW, g.PadW, g.DilationW);
        _reference = new ReferenceConvolution(_n, checked((int)shape.InChannels), _h, _w, checked((int)_o), shape.KernelH, shape.KernelW, g);
        var random = new XorShift(20261207);
        _x = Uniform(random, _n * (int)shape.InChannels * _h * _w, shape.DType);
        _kernel = Uniform(random, checked((int)(_o * shape.GroupInChannels * shape.KernelH * shape.KernelW)), shape.DType);
        _bias = Uniform(random, (int)_o, shape.DType);
        var (oh, ow) = _reference.OutputSize;
        _r = Factors(random, (int)_o);
        _s = Factors(random, _n * oh * ow);
    }

    /// <summary>The input size that gives <see cref="OutputSide"/> outputs (at least one pixel).</summary>
    static int InputSize(int k, int stride, int pad, int dilation) => Math.Max(1, (OutputSide - 1) * stride + dilation * (k - 1) + 1 - 2 * pad);

    /// <summary>
    /// How far a right result may be from the reference, as a fraction of the reference's largest element, for a result
    /// that sums <paramref name="terms"/> rounded partial results: the kernel's taps (kh × kw) for the output and the input
    /// gradient, the output positions for the weight and bias gradients. float32: 1e-4, where float rounding stays below
    /// 4e-6 (measured by <c>movingimages doctor</c>) and the libtorch bug is off by 20 % and more. bfloat16 and float16:
    /// twice the unit roundoff × (1 + √terms) — libtorch rounds a low-precision input gradient to the type once per kernel
    /// tap and a weight gradient once per position (measured in bf16: 1.4 % of the largest value for 7×7 input gradients,
    /// 1.2 % for the weight gradient of a 1×1 stride-2 convolution over 32 positions, 0.2 % for 1×1 input gradients).
    /// </summary>
    public static double Tolerance(ScalarType type, int terms = 1) => type switch
    {
        ScalarType.BFloat16 => 2 * Math.ScaleB(1, -8) * (1 + Math.Sqrt(terms)),
        ScalarType.Float16 => 2 * Math.ScaleB(1, -11) * (1 + Math.Sqrt(terms)),
        ScalarType.Float64 => 1e-9,
        _ => 1e-4,
    };

    /// <summary>The output channels a class is checked with: its own up to 48, else 32–47 with the same remainder modulo 16 (grouped classes: their own).</summary>
    public static long CheckedOutChannels(ConvShape shape) =>
        shape.Geometry.Groups != 1 || shape.OutChannels <= 48 ? shape.OutChannels : 32 + shape.OutChannels % 16;

    /// <summary>Marsaglia's xorshift: millions of check inputs in milliseconds, the same on every machine.</summary>
    sealed class XorShift(uint seed)
    {
        uint _state = seed == 0 ? 1u : seed;

        public uint Next()
        {
            _state ^= _state << 13;
            _state ^= _state >> 17;
            _state ^= _state << 5;
            return _state;
        }

        /// <summary>Fills <paramref name="values"/> with numbers uniform in [−1, 1), on a grid of 2⁻²³.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Fill(Span<float> values)
        {
            uint state = _state;
            for (int i = 0; i < values.Length; i++)
            {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                values[i] = (int)(state >> 8) * (1f / (1 << 23)) - 1f;
            }
            _state = state;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float[] Uniform(XorShift random, int count, ScalarType type)
    {
        var values = new float[count];
        random.Fill(values);
        if (type == ScalarType.BFloat16) for (int i = 0; i < count; i++) values[i] = RoundToBFloat16(values[i]);
        else if (type == ScalarType.Float16) for (int i = 0; i < count; i++) values[i] = (float)(Half)values[i];
        return values;
    }

    static readonly float[] FactorValues = [0.5f, 0.75f, 1f, 1.25f, 1.5f, 1.75f];

    static float[] Factors(XorShift random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            uint bits = random.Next();
            values[i] = FactorValues[bits % (uint)FactorValues.Length] * ((bits >> 16 & 1) == 0 ? -1 : 1);
        }
        return values;
    }

    /// <summary>The nearest bfloat16 (ties to even), as a float.</summary>
    static float RoundToBFloat16(float v)
    {
        uint bits = BitConverter.SingleToUInt32Bits(v);
        bits += 0x7FFF + ((bits >> 16) & 1);
        return BitConverter.UInt32BitsToSingle(bits & 0xFFFF0000);
    }

    /// <summary>Runs <paramref name="kernel"/> (the route <paramref name="route"/>) on the check's input and compares it with the reference.</summary>
    public ConvTrial Try(ConvRoute route, ConvKernel kernel)
    {
        var clock = Stopwatch.StartNew();
        Result result;
        try
        {
            result = Run(kernel);
        }
        catch (Exception e) when (e is ExternalException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            string error = $"failed: {e.Message.Split('\n')[0]}";
            return new ConvTrial(route, error, clock.Elapsed, double.PositiveInfinity, error);
        }
        var elapsed = clock.Elapsed;
        var deviations = Deviations(result).ToList();
        var wrong = deviations.FirstOrDefault(d => d.Margin > 1);
        var worst = deviations.MaxBy(d => d.Margin)!;
        return new ConvTrial(route, wrong?.Describe(), elapsed, worst.Margin, worst.Describe());
    }

    sealed record Result(float[] Output, float[]? InputGradient, float[]? WeightGradient, float[]? BiasGradient);

    Result Run(ConvKernel kernel)
    {
        // libtorch's results depend on its thread count: the class's own (see ConvShape.Threads)
        using var threads = _shape.Threads > 0 && _shape.Device == DeviceType.CPU ? Runtime.IntraOpThreads.Use(_shape.Threads) : null;
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad(_shape.Backward);
        var device = new Device(_shape.Device);
        var type = _shape.DType;
        Tensor Leaf(float[] values, long[] dims, bool channelsLast = false)
        {
            var t = torch.tensor(values, dims).to(device).to_type(type);
            if (channelsLast) t = ChannelsLast.Of(t);
            return _shape.Backward ? t.detach().requires_grad_(true) : t;
        }
        var x = Leaf(_x, [_n, _shape.InChannels, _h, _w], _shape.ChannelsLast);
        var w = Leaf(_kernel, [_o, _shape.GroupInChannels, _shape.KernelH, _shape.KernelW]);
        var b = Leaf(_bias, [_o]);
        var y = kernel(x, w, b, _shape.Geometry);
        var (oh, ow) = _reference.OutputSize;
        if (!y.shape.SequenceEqual(new long[] { _n, _o, oh, ow }))
            throw new InvalidOperationException($"output shape [{string.Join(", ", y.shape)}], expected [{_n}, {_o}, {oh}, {ow}]");
        var output = Floats(y);
        if (!_shape.Backward) return new Result(output, null, null, null);
        using var r = torch.tensor(_r, [1, _o, 1, 1]);
        using var s = torch.tensor(_s, [_n, 1, oh, ow]);
        using var upstream = r.mul(s).to(device).to_type(y.dtype);                   // exact in every type (see the remarks)
        y.backward([upstream]);
        return new Result(output, Floats(x.grad), Floats(w.grad), Floats(b.grad));
    }

    static float[] Floats(Tensor? t)
    {
        if (t is null) throw new InvalidOperationException("no gradient was computed");
        using var values = t.detach().to(torch.CPU).to_type(ScalarType.Float32).contiguous();
        return MemoryMarshal.Cast<byte, float>(values.bytes).ToArray();
    }

    /// <summary>How far one result is from the reference: the largest difference, the largest reference element.</summary>
    sealed record Deviation(string What, double Worst, double Largest, int At, bool Finite, double Tolerance)
    {
        public double Margin => Finite ? Worst / (Tolerance * Math.Max(Largest, 1e-30)) : double.PositiveInfinity;
        public string Describe() => Finite ? $"{What} differs by {Worst:g3} (of {Largest:g3}; element {At})" : $"{What} is not finite (element {At})";
    }

    IEnumerable<Deviation> Deviations(Result result)
    {
        _y ??= _reference.Forward(_x, _kernel, _bias);
        int taps = _shape.KernelH * _shape.KernelW, positions = _s.Length;        // what each result sums: kernel taps, or output positions
        yield return Measure("output", result.Output, _y.Select(v => (double)v).ToArray(), taps);
        if (!_shape.Backward) yield break;
        if (_dx is null || _dw is null || _db is null)
        {
            _dx = _reference.InputGradient(_reference.KernelAlong(_kernel, _r), _s);
            _dw = _reference.WeightGradient(_reference.WindowsAlong(_x, _s), _r);
            _db = ReferenceConvolution.BiasGradient(_r, _s);
        }
        yield return Measure("input gradient", result.InputGradient!, _dx, taps);
        yield return Measure("weight gradient", result.WeightGradient!, _dw, positions);
        yield return Measure("bias gradient", result.BiasGradient!, _db, positions);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    Deviation Measure(string what, float[] actual, double[] expected, int terms)
    {
        double tolerance = Tolerance(_shape.DType, terms);
        if (actual.Length != expected.Length) throw new InvalidOperationException($"{what} has {actual.Length} values, expected {expected.Length}");
        double largest = 0, worst = 0;
        int worstAt = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (!double.IsFinite(a)) return new Deviation(what, double.PositiveInfinity, largest, i, false, tolerance);
            largest = Math.Max(largest, Math.Abs(e));
            double d = Math.Abs(a - e);
            if (d > worst) (worst, worstAt) = (d, i);
        }
        return new Deviation(what, worst, largest, worstAt, true, tolerance);
    }
}
