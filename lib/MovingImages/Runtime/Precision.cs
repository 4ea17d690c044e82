using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.Runtime;

/// <summary>
/// The arithmetic of a network's convolutions and dense layers. In training (the face-swap autoencoder) weights,
/// optimiser state, the sigmoid and the loss stay float32 in every mode (mixed precision, as PyTorch's autocast does it):
/// the low-precision modes cast weights and activations on the way into each convolution and dense layer, and gradients
/// flow back to the float32 weights. In inference (YOLO) the weights are converted once at load and the network runs in
/// that type; what goes in (letterboxed pixels) and what comes out (the heads, then decoding and NMS) stays float32.
/// </summary>
public enum Precision
{
    /// <summary>Everything in float32 (the reference).</summary>
    Float32,
    /// <summary>bfloat16 convolutions and dense layers: float32's range, so no loss scaling is needed. Fast on CPUs with
    /// AVX512-BF16/AMX and on recent GPUs.</summary>
    BFloat16,
    /// <summary>float16 convolutions and dense layers with dynamic loss scaling (small gradients would underflow
    /// float16). Fast on GPUs; most CPUs have no float16 arithmetic and are slower in this mode than in float32.</summary>
    Float16,
}

/// <summary>Helpers for <see cref="Precision"/>.</summary>
public static class PrecisionExtensions
{
    /// <summary>The tensor type of the low-precision arithmetic.</summary>
    public static ScalarType ComputeType(this Precision precision) => precision switch
    {
        Precision.Float32 => ScalarType.Float32,
        Precision.BFloat16 => ScalarType.BFloat16,
        Precision.Float16 => ScalarType.Float16,
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "unknown precision"),
    };

    /// <summary>Parses float32|fp32, bfloat16|bf16, float16|fp16 (case-insensitive).</summary>
    public static Precision Parse(string text) => text.ToLowerInvariant() switch
    {
        "float32" or "fp32" or "32" => Precision.Float32,
        "bfloat16" or "bf16" => Precision.BFloat16,
        "float16" or "fp16" or "half" or "16" => Precision.Float16,
        _ => throw new ArgumentException($"unknown precision '{text}': expected fp32, bf16 or fp16"),
    };

    /// <summary>Short name: fp32, bf16, fp16.</summary>
    public static string ShortName(this Precision precision) => precision switch
    {
        Precision.BFloat16 => "bf16",
        Precision.Float16 => "fp16",
        _ => "fp32",
    };

    /// <summary><paramref name="t"/> in <paramref name="type"/> (itself when it already is).</summary>
    internal static Tensor As(this Tensor t, ScalarType type) => t.dtype == type ? t : t.to_type(type);
}

/// <summary>What this machine's CPU offers for low-precision arithmetic.</summary>
public static class CpuFeatures
{
    static readonly Lazy<string> Flags = new(() =>
    {
        try
        {
            return OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "" : "";
        }
        catch (IOException) { return ""; }
    });
    static int _warned;

    /// <summary>The CPU's vector extensions as /proc/cpuinfo names them (avx2, avx512f, avx512_bf16, amx_tile, …); empty where that cannot be told.</summary>
    public static IReadOnlyList<string> VectorExtensions => Flags.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
        .Where(f => f is "avx" or "avx2" or "fma" or "f16c" or "avx_vnni" || f.StartsWith("avx512", StringComparison.Ordinal) || f.StartsWith("amx", StringComparison.Ordinal))
        .Distinct().ToList();

    /// <summary>Whether the CPU has bfloat16 arithmetic (AVX512-BF16 or AMX-BF16); null where that cannot be told (not Linux).</summary>
    public static bool? HasBFloat16 => Flags.Value.Length == 0 ? null
        : Flags.Value.Contains(" avx512_bf16", StringComparison.Ordinal) || Flags.Value.Contains(" amx_bf16", StringComparison.Ordinal);

    /// <summary>
    /// What to tell a user who asks for <paramref name="precision"/> on <paramref name="device"/> when the hardware lacks
    /// its arithmetic (it still runs, emulated, slower than float32); null when there is nothing to say.
    /// </summary>
    public static string? EmulationNote(Precision precision, Device device)
    {
        if (device.type != DeviceType.CPU || precision == Precision.Float32) return null;
        if (precision == Precision.BFloat16 && HasBFloat16 != false) return null;
        return $"note: this CPU has no {precision.ShortName()} arithmetic{(precision == Precision.BFloat16 ? " (no AVX512-BF16 or AMX)" : "")}: " +
               $"{precision.ShortName()} runs emulated, slower than fp32. It still gives results.";
    }

    /// <summary>Writes <see cref="EmulationNote"/> to <paramref name="log"/>, once per process.</summary>
    public static void WarnIfEmulated(Precision precision, Device device, TextWriter log)
    {
        if (EmulationNote(precision, device) is { } note && Interlocked.Exchange(ref _warned, 1) == 0) log.WriteLine(note);
    }
}
