using MovingImages.Runtime;

namespace MovingImages.FaceSwap;

/// <summary>
/// A named set of the fake-video recipe's knobs — model size, training length and precision, seconds converted — so
/// a class, the demo and an experimenter start from settings that are known to work, and override only what they turn.
/// </summary>
/// <param name="Name">"classroom" or "chapter".</param>
/// <param name="ImageSize">Face crop side the autoencoder sees.</param>
/// <param name="Filters">Filters of the encoder's first convolution (the others scale with it).</param>
/// <param name="EncoderDim">Width of the encoder's bottleneck.</param>
/// <param name="Iterations">Training steps.</param>
/// <param name="BatchSize">Faces per person per step.</param>
/// <param name="LearningRate">Adam's learning rate.</param>
/// <param name="Precision">Arithmetic of the convolutions and dense layers.</param>
/// <param name="PreviewEvery">Steps between preview grids.</param>
/// <param name="ConvertSeconds">Seconds of video converted.</param>
/// <param name="Expect">What to expect on a 2-core CPU, in words.</param>
public sealed record FaceSwapPreset(string Name, int ImageSize, int Filters, int EncoderDim, int Iterations, int BatchSize,
    double LearningRate, Precision Precision, int PreviewEvery, double ConvertSeconds, string Expect)
{
    /// <summary>
    /// For a live class: a small model (64 px, 32 filters, 256-wide bottleneck, 1.6 M parameters) trained 1000 steps in
    /// bf16 where the CPU has bfloat16 arithmetic (AVX512-BF16 or AMX), else in fp32 — emulated bf16 is 20–40× slower
    /// than fp32 there (measured on an AVX2-only EPYC: 6.5 samples/s). On an AVX512-BF16 EPYC: the whole notebook 02 in 3
    /// min on 2 cores (training 135 s at 131 samples/s); the swapped face is a blurry but clear face (eyes, nose, mouth)
    /// and her converted faces move ≈0.07 towards him.
    /// </summary>
    public static FaceSwapPreset Classroom { get; } = new("classroom", 64, 32, 256, 1000, 8, 3e-4, FastestTrainingPrecision, 100, 3.0,
        "about 3 minutes for the whole notebook on a 2-core CPU (training ≈2¼ min); a small, blurry but recognisable swapped face");

    /// <summary>The chapter's model and settings (encoder 69.7 M parameters, batch 64, Adam 5e-5): hours on a CPU.</summary>
    public static FaceSwapPreset Chapter { get; } = new("chapter", 64, 128, 1024, 1000, 64, 5e-5, Precision.Float32, 100, 3.0,
        "the book's model: about 15 hours for 1000 steps on a 2-core CPU (≈2.3 samples/s fp32, ≈3.5 bf16); meant for a GPU or a long run");

    /// <summary>bf16 where the CPU computes it natively (<see cref="CpuFeatures.HasBFloat16"/>), else fp32.</summary>
    static Precision FastestTrainingPrecision => CpuFeatures.HasBFloat16 == true ? Precision.BFloat16 : Precision.Float32;

    /// <summary>Every preset, by name.</summary>
    public static IReadOnlyList<FaceSwapPreset> All { get; } = [Classroom, Chapter];

    /// <summary>The preset called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No such preset; the message lists them.</exception>
    public static FaceSwapPreset Named(string name) =>
        All.FirstOrDefault(p => p.Name.Equals(name?.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown preset '{name}': expected {string.Join(" or ", All.Select(p => p.Name))}");

    /// <summary>This preset with the given knobs replaced (null keeps the preset's value), checked.</summary>
    /// <exception cref="ArgumentException">A value out of range, or an unknown precision.</exception>
    public FaceSwapPreset With(int? imageSize = null, int? filters = null, int? encoderDim = null, int? iterations = null, int? batchSize = null,
        double? learningRate = null, string? precision = null, int? previewEvery = null, double? convertSeconds = null)
    {
        var p = this with
        {
            ImageSize = imageSize ?? ImageSize, Filters = filters ?? Filters, EncoderDim = encoderDim ?? EncoderDim,
            Iterations = iterations ?? Iterations, BatchSize = batchSize ?? BatchSize, LearningRate = learningRate ?? LearningRate,
            Precision = string.IsNullOrWhiteSpace(precision) ? Precision : PrecisionExtensions.Parse(precision),
            PreviewEvery = previewEvery ?? PreviewEvery, ConvertSeconds = convertSeconds ?? ConvertSeconds,
        };
        bool changed = p != this;
        if (p.Iterations < 0) throw new ArgumentException($"iterations must be 0 or more, not {p.Iterations}");
        if (p.BatchSize < 1) throw new ArgumentException($"batchSize must be at least 1, not {p.BatchSize}");
        if (!(p.LearningRate > 0) || !double.IsFinite(p.LearningRate)) throw new ArgumentException($"learningRate must be a positive number, not {p.LearningRate}");
        if (p.PreviewEvery < 0) throw new ArgumentException($"previewEvery must be 0 (never) or more, not {p.PreviewEvery}");
        if (!(p.ConvertSeconds > 0)) throw new ArgumentException($"convertSeconds must be positive, not {p.ConvertSeconds}");
        _ = p.ModelOptions.Validate();
        return changed ? p with { Name = $"{Name} (changed)", Expect = "changed knobs: times differ from the preset's" } : p;
    }

    /// <summary>The model these knobs describe.</summary>
    public FaceSwapModelOptions ModelOptions => new(ImageSize, EncoderDim, Filters);

    /// <summary>Training options for these knobs.</summary>
    public TrainingOptions TrainingOptions(int seed = 1) =>
        new(BatchSize: BatchSize, LearningRate: LearningRate, Seed: seed, Precision: Precision, PreviewEvery: PreviewEvery);

    /// <summary>A folder name that differs between model sizes ("64px-32f-256d"), so models of different sizes never share a checkpoint.</summary>
    public string ModelTag => $"{ImageSize}px-{Filters}f-{EncoderDim}d";
}
