using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.Runtime;

/// <summary>
/// TorchSharp <see cref="Scalar"/>s that live as long as the process, and operations that take them.
/// </summary>
/// <remarks>
/// A C# number passed where TorchSharp wants a <see cref="Scalar"/> (<c>F.leaky_relu(x, 0.1)</c>, <c>x * 255f</c>,
/// <c>x &gt; 0.5</c>) becomes a temporary native <c>c10::Scalar</c> whose managed wrapper is unreachable as soon as its
/// handle is read; dispose scopes do not track it, so the GC's finalizer thread may free it while libtorch is still
/// reading it. What libtorch then reads is freed memory: a leaky-ReLU slope of 1e20 (a finite loss, after a saturated
/// sigmoid, with infinite or NaN gradients — the "NaN training" seen here), or a type tag it does not know
/// ("Unknown scalar type" aborts). Scalars held in static fields are never collected.
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

    /// <summary>Leaky ReLU with slope 0.1 and a scalar that cannot be freed under it.</summary>
    public static Tensor LeakyRelu(Tensor x) => x.leaky_relu(LeakySlope);
}
