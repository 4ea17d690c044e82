using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.FaceSwap;

/// <summary>
/// Dynamic loss scaling for float16 training, as PyTorch's GradScaler: the loss is multiplied by <see cref="Scale"/>
/// before the backward pass so small gradients survive float16; gradients are divided by it again before the optimiser
/// step. A step whose gradients overflowed (inf/NaN) is skipped and the scale halved; after
/// <see cref="GrowthInterval"/> good steps in a row the scale doubles. With scaling off (float32, bfloat16) the scale is 1
/// and every step is taken.
/// </summary>
public sealed class LossScaler
{
    /// <summary>Creates a scaler; <paramref name="enabled"/> false makes it a plain backward + step.</summary>
    public LossScaler(bool enabled, double initialScale = 65536, int growthInterval = 2000)
    {
        if (initialScale <= 0 || growthInterval < 1) throw new ArgumentException("the scale must be positive and the growth interval at least 1");
        Enabled = enabled;
        Scale = enabled ? initialScale : 1;
        GrowthInterval = growthInterval;
    }

    /// <summary>Whether the loss is scaled.</summary>
    public bool Enabled { get; }
    /// <summary>The current factor.</summary>
    public double Scale { get; private set; }
    /// <summary>Good steps in a row before the scale doubles.</summary>
    public int GrowthInterval { get; }
    /// <summary>Good steps since the last change of scale.</summary>
    public int GoodSteps { get; private set; }
    /// <summary>Steps skipped because their gradients overflowed.</summary>
    public int SkippedSteps { get; private set; }

    /// <summary>
    /// Backward pass of <paramref name="loss"/> and, unless the gradients overflowed, <paramref name="optimizer"/>'s step over
    /// <paramref name="parameters"/>. Returns whether the step was taken.
    /// </summary>
    public bool BackwardAndStep(Tensor loss, optim.Optimizer optimizer, IReadOnlyList<TorchSharp.Modules.Parameter> parameters)
    {
        if (!Enabled)
        {
            loss.backward();
            if (!GradientsFinite(parameters)) throw new NonFiniteGradientException();
            AdamStep.Apply(optimizer);
            return true;
        }
        using (var scaled = Runtime.Scalars.Mul(loss, Scale)) scaled.backward();
        using (torch.no_grad())
        {
            var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
            if (!GradientsFinite(parameters))
            {
                Scale /= 2;
                GoodSteps = 0;
                SkippedSteps++;
                return false;
            }
            using var scale = Scale.ToScalar();
            foreach (var g in grads) g.div_(scale);
        }
        AdamStep.Apply(optimizer);
        if (++GoodSteps >= GrowthInterval)
        {
            Scale *= 2;
            GoodSteps = 0;
        }
        return true;
    }

    /// <summary>
    /// Whether every gradient of <paramref name="parameters"/> is finite: one sum per gradient (a NaN or ±∞ anywhere makes
    /// it non-finite) and one check of all the sums — a single round trip instead of one per parameter.
    /// </summary>
    public static bool GradientsFinite(IEnumerable<TorchSharp.Modules.Parameter> parameters)
    {
        using var scope = torch.NewDisposeScope();
        var sums = parameters.Select(p => p.grad).OfType<Tensor>().Select(g => g.sum(type: ScalarType.Float32)).ToArray();
        return sums.Length == 0 || torch.isfinite(torch.stack(sums)).all().item<bool>();
    }

    /// <summary>Writes the state (for checkpoints).</summary>
    public void Save(BinaryWriter w)
    {
        w.Write(Enabled);
        w.Write(Scale);
        w.Write(GoodSteps);
        w.Write(SkippedSteps);
    }

    /// <summary>Reads a state written by <see cref="Save"/>. A scaler that is off stays at 1; one that is on keeps its
    /// initial state when the checkpoint's was off (training resumed in float16 after another precision).</summary>
    public void Load(BinaryReader r)
    {
        bool wasEnabled = r.ReadBoolean();
        double scale = r.ReadDouble();
        int good = r.ReadInt32(), skipped = r.ReadInt32();
        if (!Enabled || !wasEnabled) return;
        if (!(scale > 0) || double.IsInfinity(scale)) throw new InvalidDataException($"loss scale {scale} is not a positive number");
        Scale = scale;
        GoodSteps = good;
        SkippedSteps = skipped;
    }
}

/// <summary>A backward pass without loss scaling gave a non-finite gradient although the loss was finite.</summary>
public sealed class NonFiniteGradientException() : Exception("a gradient is not finite although the loss is");

/// <summary>Training produced a non-finite loss or gradient it could not recover from; the message says at which step, in which precision, and which loss.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
