using System.Diagnostics;
using OpenCvSharp;
using TorchSharp;
using static TorchSharp.torch;
using MovingImages.Runtime;

namespace MovingImages.FaceSwap;

/// <summary>
/// Trains a <see cref="FaceSwapModel"/> as faceswap does: each step one batch of A through encoder → decoder A and one of B
/// through encoder → decoder B, mean absolute error, one Adam per autoencoder (the encoder is updated by both).
/// Checkpoints hold the weights, both optimisers' state and the iteration, and are written atomically.
/// </summary>
public sealed class FaceSwapTrainer : IDisposable
{
    readonly IReadOnlyList<Mat> _facesA, _facesB;
    readonly TorchSharp.Modules.Adam _optA, _optB;
    readonly TorchSharp.Modules.Parameter[] _paramsA, _paramsB;
    readonly LossScaler _scalerA, _scalerB;
    readonly List<TrainingStep> _history = new();

    /// <summary>Creates a trainer over aligned face crops of each person (square, any size; see <see cref="FaceAnalysis.FaceAligner"/>).</summary>
    public FaceSwapTrainer(FaceSwapModel model, IReadOnlyList<Mat> facesA, IReadOnlyList<Mat> facesB, TrainingOptions? options = null, Device? device = null)
    {
        if (facesA.Count == 0 || facesB.Count == 0) throw new ArgumentException($"both people need faces to train on (A has {facesA.Count}, B has {facesB.Count})");
        Model = model;
        Options = (options ?? TrainingOptions.Default).Validate();
        Device = device ?? Runtime.TorchRuntime.DefaultDevice;
        model.to(Device);
        _facesA = facesA;
        _facesB = facesB;
        var encoder = model.Encoder.parameters().ToArray();
        _paramsA = encoder.Concat(model.DecoderA.parameters()).ToArray();
        _paramsB = encoder.Concat(model.DecoderB.parameters()).ToArray();
        _optA = optim.Adam(_paramsA, Options.LearningRate, Options.Beta1, Options.Beta2);
        _optB = optim.Adam(_paramsB, Options.LearningRate, Options.Beta1, Options.Beta2);
        _scalerA = new LossScaler(Options.Precision == Precision.Float16);
        _scalerB = new LossScaler(Options.Precision == Precision.Float16);
        TorchRuntime.EnsureLoaded();                                        // keeps freed blocks (NativeHeap): every step frees and reallocates the same large tensors
    }

    /// <summary>
    /// Raised every <see cref="TrainingOptions.PreviewEvery"/> steps of <see cref="Train"/> with the iteration and the
    /// <see cref="Preview"/> grid; the grid is disposed when the handlers return (clone it to keep it).
    /// </summary>
    public event Action<int, Mat>? PreviewReady;

    /// <summary>The float16 loss scales of A's and B's autoencoder (1 unless training in float16).</summary>
    public (double A, double B) LossScale => (_scalerA.Scale, _scalerB.Scale);

    /// <summary>The model being trained.</summary>
    public FaceSwapModel Model { get; }
    /// <summary>The settings.</summary>
    public TrainingOptions Options { get; }
    /// <summary>Where training runs.</summary>
    public Device Device { get; }
    /// <summary>Steps done (restored from a checkpoint).</summary>
    public int Iteration { get; private set; }
    /// <summary>Every step's losses, in order (restored from a checkpoint).</summary>
    public IReadOnlyList<TrainingStep> History => _history;

    /// <summary>The augmented batch of one person for step <paramref name="iteration"/> (deterministic in seed and step).</summary>
    public (Tensor Warped, Tensor Target) Batch(bool personA, int iteration) =>
        new FaceAugmenter(Model.Options.ImageSize, BatchSeed(Options.Seed, iteration, personA), Options.Augment, Model.Options.View)
            .NextBatch(personA ? _facesA : _facesB, Options.BatchSize, Device);

    /// <summary>
    /// The augmentation seed of one person's batch at one step: the same in every process and .NET version, so a run
    /// resumed in a new process continues exactly (<see cref="HashCode.Combine{T1,T2,T3}"/> is randomized per process).
    /// SplitMix64's finalizer over the three values.
    /// </summary>
    public static int BatchSeed(int seed, int iteration, bool personA)
    {
        ulong x = unchecked((ulong)(uint)seed * 0x9E3779B97F4A7C15UL + ((ulong)(uint)iteration << 1) + (personA ? 1UL : 0UL));
        x = unchecked((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL);
        x = unchecked((x ^ (x >> 27)) * 0x94D049BB133111EBUL);
        x ^= x >> 31;
        return (int)(x & 0x7FFFFFFF);
    }

    /// <summary>One step: A's batch, then B's.</summary>
    public TrainingStep Step()
    {
        var sw = Stopwatch.StartNew();
        Model.train();
        Model.Precision = Options.Precision;
        int skipped = 0;
        float lossA = StepOne(true), lossB = StepOne(false);
        Iteration++;
        var step = new TrainingStep(Iteration, lossA, lossB, 2 * Options.BatchSize / sw.Elapsed.TotalSeconds, skipped);
        _history.Add(step);
        return step;

        float StepOne(bool a)
        {
            string which = a ? "A" : "B";
            if (Options.OneDnn)
            {
                if (TryStep(a, out float fast, out _)) return fast;
                // oneDNN gave non-finite values for this step (see TrainingOptions.OneDnn); the weights were not touched: the same
                // batch again on libtorch's own kernels.
                _oneDnnRetries++;
            }
            using var kernels = Runtime.TorchRuntime.WithoutOneDnn();
            if (TryStep(a, out float value, out bool lossFinite)) return value;
            throw new TrainingDivergedException(lossFinite
                ? $"training diverged at step {Iteration + 1}: the gradients of autoencoder {which} are not finite ({Options.Precision}) for a finite loss ({value:0.0000}); the weights were not updated."
                : $"training diverged at step {Iteration + 1}: loss {which} is {value} ({Options.Precision}); the weights were not updated. " +
                  "Lower the learning rate, or resume from the last checkpoint.");
        }

        // One autoencoder's step; false (weights untouched) when the loss or a gradient is not finite.
        bool TryStep(bool a, out float value, out bool lossFinite)
        {
            using var scope = torch.NewDisposeScope();
            var (warped, target) = Batch(a, Iteration);
            var optimizer = a ? _optA : _optB;
            optimizer.zero_grad();
            var output = a ? Model.AutoencodeA(warped) : Model.AutoencodeB(warped);
            if (OutputHook is { } hook) output = hook(output);
            var loss = (output - target).abs().mean();                       // float32 in every precision
            value = loss.item<float>();
            lossFinite = float.IsFinite(value);
            if (!lossFinite) return false;
            try
            {
                if (!(a ? _scalerA : _scalerB).BackwardAndStep(loss, optimizer, a ? _paramsA : _paramsB)) skipped++;
                return true;
            }
            catch (NonFiniteGradientException)
            {
                optimizer.zero_grad();
                return false;
            }
        }
    }

    int _oneDnnRetries;

    /// <summary>Tests only: applied to each autoencoder output before the loss (to make a step non-finite on purpose).</summary>
    internal Func<Tensor, Tensor>? OutputHook { get; set; }

    /// <summary>
    /// Steps (per autoencoder) that oneDNN computed with a non-finite loss or gradient and that were computed again
    /// without it (see <see cref="TrainingOptions.OneDnn"/>).
    /// </summary>
    public int OneDnnRetries => _oneDnnRetries;

    /// <summary>
    /// Trains for <paramref name="iterations"/> more steps. With <paramref name="checkpointPath"/>, writes a checkpoint every
    /// <see cref="TrainingOptions.CheckpointEvery"/> steps, at the end, and when cancelled (then returns what was done).
    /// </summary>
    public IReadOnlyList<TrainingStep> Train(int iterations, IProgress<TrainingStep>? progress = null, string? checkpointPath = null, CancellationToken cancellationToken = default)
    {
        var steps = new List<TrainingStep>();
        try
        {
            for (int i = 0; i < iterations && !cancellationToken.IsCancellationRequested; i++)
            {
                var step = Step();
                steps.Add(step);
                progress?.Report(step);
                if (checkpointPath != null && Options.CheckpointEvery > 0 && Iteration % Options.CheckpointEvery == 0) SaveCheckpoint(checkpointPath);
                if (PreviewReady != null && Options.PreviewEvery > 0 && Iteration % Options.PreviewEvery == 0)
                {
                    using var grid = Preview();
                    PreviewReady(Iteration, grid);
                }
            }
        }
        finally
        {
            if (checkpointPath != null && steps.Count > 0) SaveCheckpoint(checkpointPath);
        }
        return steps;
    }

    /// <summary>Writes weights, optimiser state, iteration and loss history to <paramref name="path"/> atomically
    /// (<see cref="FaceSwapCheckpoint"/>); refuses weights that are not finite.</summary>
    public void SaveCheckpoint(string path) =>
        FaceSwapCheckpoint.Save(path, Model, Iteration, _history, new(_optA, _optB, _scalerA, _scalerB));

    /// <summary>Restores a checkpoint written by <see cref="SaveCheckpoint"/> for a model of the same sizes.</summary>
    public void LoadCheckpoint(string path)
    {
        var (iteration, history) = FaceSwapCheckpoint.Load(path, Model, new(_optA, _optB, _scalerA, _scalerB));
        Iteration = iteration;
        _history.Clear();
        _history.AddRange(history);
    }

    /// <summary>
    /// The preview faceswap shows while training: for <paramref name="count"/> faces of each person, rows of
    /// (A, A→A, A→B) and (B, B→B, B→A), on targets of step 0's batches, laid out by <see cref="Drawing.ImageGrid"/>.
    /// </summary>
    public Mat Preview(int count = 4)
    {
        var rows = PreviewRows(count);
        try { return Drawing.ImageGrid.Compose(rows); }
        finally { foreach (var row in rows) foreach (var m in row) m.Dispose(); }
    }

    /// <summary>The preview's faces, a row (face, reconstructed, swapped) per face; the caller disposes them.</summary>
    public IReadOnlyList<Mat[]> PreviewRows(int count = 4)
    {
        if (count < 1) throw new ArgumentException($"count must be at least 1, got {count}");
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        Model.eval();
        var rows = new List<Mat[]>();
        foreach (bool a in new[] { true, false })
        {
            var faces = Batch(a, 0).Target[..Math.Min(count, Options.BatchSize)];
            var same = a ? Model.AutoencodeA(faces) : Model.AutoencodeB(faces);
            var swap = a ? Model.SwapAToB(faces) : Model.SwapBToA(faces);
            for (int i = 0; i < faces.shape[0]; i++)
                rows.Add([Imaging.ImageTensor.ToBgrMat(faces[i]), Imaging.ImageTensor.ToBgrMat(same[i]), Imaging.ImageTensor.ToBgrMat(swap[i])]);
        }
        return rows;
    }

    /// <summary>Releases the optimisers (the model belongs to the caller).</summary>
    public void Dispose()
    {
        _optA.Dispose();
        _optB.Dispose();
    }
}
