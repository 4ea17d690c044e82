using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.Runtime;

/// <summary>
/// TorchSharp <see cref="Scalar"/>s that live as long as the process, and operations that take them.
/// </summary>
/// <remarks>
/// A C# number passed where TorchSharp wants a <see cref="Scalar"/> (<c>F.leaky_relu(x, 0.1)</c>, <c>x &gt; 0.5</c>,
/// <c>x.clamp(0, 6)</c>) — or to TorchSharp's own numeric operators (<c>x * 255f</c>, <c>x / 2</c>, <c>torch.arange(n)</c>),
/// which convert the same way inside — becomes a temporary native <c>c10::Scalar</c> whose managed wrapper is unreachable
/// as soon as its handle is read. Dispose scopes do not track it, so the GC's finalizer thread frees it, possibly while
/// libtorch is still reading it: freed memory read as a value (a leaky-ReLU slope of 1e20) or as a type tag libtorch does
/// not know ("Unknown scalar type" aborts). Scalars held in static fields are never collected; the helpers below convert a
/// number once and dispose the Scalar after the call returns. A test reads our compiled IL and fails on any implicit
/// conversion (tests/MovingImages.Tests/Runtime/ImplicitScalarTests.cs).
/// </remarks>
public static class Scalars
{
    /// <summary>0.1, darknet's and the chapter's leaky-ReLU slope.</summary>
    public static readonly Scalar LeakySlope = 0.1.ToScalar();

    /// <summary>255, between bytes and [0, 1].</summary>
    public static readonly Scalar ByteMax = 255f.ToScalar();

    /// <summary>0.</summary>
    public static readonly Scalar Zero = 0f.ToScalar();

    /// <summary>1.</summary>
    public static readonly Scalar One = 1f.ToScalar();

    /// <summary>1 as an integer (the <c>alpha</c> of an addition to an integer tensor must be one).</summary>
    public static readonly Scalar OneInteger = 1L.ToScalar();

    /// <summary>Leaky ReLU with slope 0.1 and a scalar that cannot be freed under it.</summary>
    public static Tensor LeakyRelu(Tensor x) => x.leaky_relu(LeakySlope);

    /// <summary>
    /// The sum of tensors, added right to left (<c>Sum(a, b, c)</c> is <c>a + (b + c)</c>). TorchSharp's <c>a + b</c> is
    /// <c>a.add(b, 1)</c> with an implicit Scalar 1 inside; this passes a Scalar that lives as long as the process.
    /// </summary>
    public static Tensor Sum(Tensor first, params ReadOnlySpan<Tensor> rest)
    {
        if (rest.Length == 0) return first.alias();
        var total = rest[^1];
        for (int i = rest.Length - 2; i >= 0; i--) total = rest[i].add(total, OneInteger);
        return first.add(total, OneInteger);
    }

    /// <summary><paramref name="x"/> × <paramref name="value"/>.</summary>
    public static Tensor Mul(Tensor x, double value) { using var s = value.ToScalar(); return x.mul(s); }

    /// <summary><paramref name="x"/> ÷ <paramref name="value"/>.</summary>
    public static Tensor Div(Tensor x, double value) { using var s = value.ToScalar(); return x.div(s); }

    /// <summary><paramref name="x"/> ÷= <paramref name="value"/>, in place.</summary>
    public static Tensor DivInPlace(Tensor x, double value) { using var s = value.ToScalar(); return x.div_(s); }

    /// <summary><paramref name="x"/> + <paramref name="value"/>.</summary>
    public static Tensor Add(Tensor x, double value) { using var s = value.ToScalar(); return x.add(s, One); }

    /// <summary><paramref name="x"/> + <paramref name="value"/>, keeping an integer tensor's type.</summary>
    public static Tensor Add(Tensor x, long value) { using var s = value.ToScalar(); return x.add(s, OneInteger); }

    /// <summary><paramref name="x"/> − <paramref name="value"/>.</summary>
    public static Tensor Sub(Tensor x, double value) { using var s = value.ToScalar(); return x.sub(s); }

    /// <summary><paramref name="x"/> − <paramref name="value"/>, keeping an integer tensor's type.</summary>
    public static Tensor Sub(Tensor x, long value) { using var s = value.ToScalar(); return x.sub(s); }

    /// <summary><paramref name="value"/> − <paramref name="x"/>.</summary>
    public static Tensor Sub(double value, Tensor x)
    {
        using var s = value.ToScalar();
        using var negated = x.neg();
        return negated.add(s, One);
    }

    /// <summary><paramref name="x"/> limited to [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Tensor Clamp(Tensor x, double min, double max)
    {
        using Scalar lo = min.ToScalar(), hi = max.ToScalar();
        return x.clamp(lo, hi);
    }

    /// <summary><paramref name="x"/> limited to [<paramref name="min"/>, <paramref name="max"/>], keeping an integer tensor's type.</summary>
    public static Tensor Clamp(Tensor x, long min, long max)
    {
        using Scalar lo = min.ToScalar(), hi = max.ToScalar();
        return x.clamp(lo, hi);
    }

    /// <summary>Where <paramref name="x"/> &gt; <paramref name="value"/>.</summary>
    public static Tensor Greater(Tensor x, double value) { using var s = value.ToScalar(); return x.gt(s); }

    /// <summary>Where <paramref name="x"/> ≥ <paramref name="value"/>.</summary>
    public static Tensor GreaterEqual(Tensor x, long value) { using var s = value.ToScalar(); return x.ge(s); }

    /// <summary>Where <paramref name="x"/> &lt; <paramref name="value"/>.</summary>
    public static Tensor Less(Tensor x, long value) { using var s = value.ToScalar(); return x.lt(s); }

    /// <summary>0, 1, …, <paramref name="count"/> − 1.</summary>
    public static Tensor Arange(long count, ScalarType dtype, Device? device = null)
    {
        using Scalar start = 0L.ToScalar(), stop = count.ToScalar(), step = 1L.ToScalar();
        return torch.arange(start, stop, step, dtype, device);
    }
}
