using MovingImages.FaceAnalysis;
using MovingImages.Runtime;

namespace MovingImages.FaceSwap;

/// <summary>Training settings; the defaults are the chapter's (Adam 5e-5, β 0.5/0.999, batch 64).</summary>
/// <param name="BatchSize">Faces of each person per step.</param>
/// <param name="LearningRate">Adam's learning rate.</param>
/// <param name="Beta1">Adam's β1.</param>
/// <param name="Beta2">Adam's β2.</param>
/// <param name="Seed">Seed of the augmentation: batch k depends only on (seed, k), so a resumed run continues exactly.</param>
/// <param name="CheckpointEvery">Write the checkpoint every this many steps (0: only at the end and on cancellation).</param>
/// <param name="Augment">Augmentation settings.</param>
/// <param name="Precision">Arithmetic of the convolutions and dense layers (mixed precision; see <see cref="Runtime.Precision"/>).</param>
/// <param name="PreviewEvery">Make a preview grid every this many steps (0: never) for <see cref="FaceSwapTrainer.PreviewReady"/>.</param>
/// <param name="OneDnn">Whether training steps use oneDNN (default true: ≈ 4–5× faster here). An earlier investigation on this project's
/// CPU (AMD EPYC, AVX-512 with BF16, 2 threads) saw libtorch's oneDNN convolution backward return non-finite
/// gradients for a finite loss — in 1 of ~30 steps, most steps with two trainings at once — and never with oneDNN off.
/// Most of it was TorchSharp's finalizer-freed implicit Scalars (gone: see <c>Runtime.Scalars</c>); afterwards 1 of 60
/// steps of two concurrent trainings, then 0 of 80 fp32 steps (quiet), 0 of 40 bf16 steps (cores busy), 0 of 160 in two
/// concurrent trainings and 0 of 800 on the Megamind faces (environment.md). For what may remain,
/// a step whose loss or gradients come out non-finite with oneDNN is computed again without it (the weights are only
/// updated by a finite step; <see cref="FaceSwapTrainer.OneDnnRetries"/> counts these); only if that is non-finite too does training
/// stop (<see cref="TrainingDivergedException"/>). False: every step without oneDNN (slow, and the same on any CPU).</param>
public sealed record TrainingOptions(int BatchSize = 64, double LearningRate = 5e-5, double Beta1 = 0.5, double Beta2 = 0.999, int Seed = 1,
    int CheckpointEvery = 100, AugmentOptions? Augment = null, Precision Precision = Precision.Float32, int PreviewEvery = 0, bool OneDnn = true)
{
    /// <summary>The chapter's settings.</summary>
    public static TrainingOptions Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range; returns the options.</summary>
    public TrainingOptions Validate()
    {
        if (BatchSize < 1) throw new ArgumentException($"batch size must be at least 1, got {BatchSize}");
        if (!(LearningRate > 0 && double.IsFinite(LearningRate))) throw new ArgumentException($"learning rate must be a positive number, got {LearningRate}");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentException($"Adam's beta1 must be in [0, 1), got {Beta1}");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentException($"Adam's beta2 must be in [0, 1), got {Beta2}");
        if (CheckpointEvery < 0) throw new ArgumentException($"checkpoint interval must be 0 (end only) or more, got {CheckpointEvery}");
        if (PreviewEvery < 0) throw new ArgumentException($"preview interval must be 0 (never) or more, got {PreviewEvery}");
        if (!Enum.IsDefined(Precision)) throw new ArgumentException($"unknown precision {(int)Precision}");
        Augment?.Validate();
        return this;
    }
}

/// <summary>One training step's result.</summary>
/// <param name="Iteration">Steps done so far (1 after the first).</param>
/// <param name="LossA">Mean absolute error of A → A on the step's batch.</param>
/// <param name="LossB">Mean absolute error of B → B.</param>
/// <param name="SamplesPerSecond">Faces (A and B together) per second in this step.</param>
/// <param name="Skipped">Optimiser steps skipped because float16 gradients overflowed (0, 1 or 2; always 0 unless float16).</param>
public sealed record TrainingStep(int Iteration, float LossA, float LossB, double SamplesPerSecond, int Skipped = 0);

/// <summary>Augmentation settings (faceswap's defaults).</summary>
/// <param name="RotationDegrees">Random rotation range ±.</param>
/// <param name="Zoom">Random zoom range ± (fraction).</param>
/// <param name="Shift">Random shift range ± (fraction of the crop).</param>
/// <param name="FlipProbability">Chance of a horizontal flip.</param>
/// <param name="WarpNoise">Standard deviation of the warp grid's jitter, in pixels of a 256-pixel crop.</param>
public sealed record AugmentOptions(double RotationDegrees = 10, double Zoom = 0.05, double Shift = 0.05, double FlipProbability = 0.4,
    double WarpNoise = 5)
{
    /// <summary>The defaults.</summary>
    public static AugmentOptions Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range; returns the options.</summary>
    public AugmentOptions Validate()
    {
        Check(RotationDegrees, 0, 180, "rotation (degrees)");
        Check(Zoom, 0, 0.9, "zoom");
        Check(Shift, 0, 0.9, "shift");
        Check(FlipProbability, 0, 1, "flip probability");
        Check(WarpNoise, 0, 64, "warp noise (pixels)");
        return this;
    }

    static void Check(double value, double min, double max, string what)
    {
        if (!(value >= min && value <= max)) throw new ArgumentException($"{what} must be in [{min}, {max}], got {value}");
    }
}
