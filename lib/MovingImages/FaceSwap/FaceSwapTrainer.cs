using System.Diagnostics;
using MovingImages.IO;
using OpenCvSharp;
using TorchSharp;
using static TorchSharp.torch;
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
public sealed record TrainingOptions(int BatchSize = 64, double LearningRate = 5e-5, double Beta1 = 0.5, double Beta2 = 0.999, int Seed = 1,
    int CheckpointEvery = 100, AugmentOptions? Augment = null, Precision Precision = Precision.Float32, int PreviewEvery = 0)
{
    /// <summary>The chapter's settings.</summary>
    public static TrainingOptions Default { get; } = new();
}

/// <summary>One training step's result.</summary>
/// <param name="Iteration">Steps done so far (1 after the first).</param>
/// <param name="LossA">Mean absolute error of A → A on the step's batch.</param>
/// <param name="LossB">Mean absolute error of B → B.</param>
/// <param name="SamplesPerSecond">Faces (A and B together) per second in this step.</param>
/// <param name="Skipped">Optimiser steps skipped because float16 gradients overflowed (0, 1 or 2; always 0 unless float16).</param>
public sealed record TrainingStep(int Iteration, float LossA, float LossB, double SamplesPerSecond, int Skipped = 0);

/// <summary>A checkpoint that does not belong to this model or is damaged.</summary>
public sealed class CheckpointException(string message) : IOException(message);

/// <summary>
/// Trains a <see cref="FaceSwapModel"/> as faceswap does: each step one batch of A through encoder → decoder A and one of B
/// through encoder → decoder B, mean absolute error, one Adam per autoencoder (the encoder is updated by both).
/// Checkpoints hold the weights, both optimisers' state and the iteration, and are written atomically.
/// </summary>
public sealed class FaceSwapTrainer : IDisposable
{
    const int Magic = 0x5346494D; // "MIFS"
    const int FormatVersion = 3; // 3 added the SHA-256 trailer, 2 the loss scalers; 1 and 2 are still read
    const int HashBytes = 32;

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
        Options = options ?? TrainingOptions.Default;
        if (Options.BatchSize < 1) throw new ArgumentException($"batch size must be at least 1, got {Options.BatchSize}");
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
        new FaceAugmenter(Model.Options.ImageSize, BatchSeed(Options.Seed, iteration, personA), Options.Augment)
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
            if (OneDnnTraining)
            {
                if (TryStep(a, out float fast, out _)) return fast;
                // oneDNN gave non-finite values for this step (see OneDnnTraining); the weights were not touched: the same
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
    /// without it (see <see cref="OneDnnTraining"/>).
    /// </summary>
    public int OneDnnRetries => _oneDnnRetries;

    /// <summary>
    /// Whether training steps use oneDNN (default true: ≈ 4–5× faster here). An earlier investigation on this project's
    /// CPU (AMD EPYC, AVX-512 with BF16, 2 threads) saw libtorch's oneDNN convolution backward return non-finite
    /// gradients for a finite loss — in 1 of ~30 steps, most steps with two trainings at once — and never with oneDNN off.
    /// Most of it was TorchSharp's finalizer-freed implicit Scalars (gone: see <c>Runtime.Scalars</c>); afterwards 1 of 60
    /// steps of two concurrent trainings, then 0 of 80 fp32 steps (quiet), 0 of 40 bf16 steps (cores busy), 0 of 160 in two
    /// concurrent trainings and 0 of 800 on the Megamind faces (environment.md). For what may remain,
    /// a step whose loss or gradients come out non-finite with oneDNN is computed again without it (the weights are only
    /// updated by a finite step; <see cref="OneDnnRetries"/> counts these); only if that is non-finite too does training
    /// stop (<see cref="TrainingDivergedException"/>). False: every step without oneDNN (slow, and the same on any CPU).
    /// </summary>
    public static bool OneDnnTraining { get; set; } = true;

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

    /// <summary>Writes weights, optimiser state, iteration and loss history to <paramref name="path"/> atomically; refuses weights that are not finite.</summary>
    public void SaveCheckpoint(string path) => AtomicFile.Write(path, tmp =>
    {
        using (var scope = torch.NewDisposeScope())
            foreach (var (name, p) in Model.named_parameters())
                if (!torch.isfinite(p).all().item<bool>())
                    throw new TrainingDivergedException($"not writing {path}: weight {name} is not finite at step {Iteration}");
        using var file = File.Create(tmp);
        using var stream = new Sha256WriteStream(file);
        using (var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            WriteBody(w);
        file.Write(stream.Hash()); // over every byte before it: a flipped bit or a torn copy is refused on load
    });

    void WriteBody(BinaryWriter w)
    {
        w.Write(Magic);
        w.Write(FormatVersion);
        var o = Model.Options;
        w.Write(o.ImageSize); w.Write(o.EncoderDim); w.Write(o.Filters);
        w.Write(Iteration);
        w.Write(_history.Count);
        foreach (var h in _history) { w.Write(h.Iteration); w.Write(h.LossA); w.Write(h.LossB); w.Write(h.SamplesPerSecond); w.Write(h.Skipped); }
        Model.save(w);
        _optA.save_state_dict(w);
        _optB.save_state_dict(w);
        _scalerA.Save(w);
        _scalerB.Save(w);
    }

    /// <summary>Restores a checkpoint written by <see cref="SaveCheckpoint"/> for a model of the same sizes.</summary>
    public void LoadCheckpoint(string path) => Read(path, Model, (r, version, iteration, history) =>
    {
        _optA.load_state_dict(r);
        _optB.load_state_dict(r);
        if (version >= 2)
        {
            _scalerA.Load(r);
            _scalerB.Load(r);
        }
        long end = r.BaseStream.Length - (version >= 3 ? HashBytes : 0);
        if (r.BaseStream.Position != end)
            throw new CheckpointException($"{path}: byte {r.BaseStream.Position:N0}: {end - r.BaseStream.Position:N0} bytes after the end of the checkpoint (trailing data, or two files joined)");
        Iteration = iteration;
        _history.Clear();
        _history.AddRange(history);
    });

    /// <summary>
    /// Loads only the weights of a checkpoint into <paramref name="model"/> (for conversion, which needs no optimiser);
    /// returns the iteration the checkpoint was written at.
    /// </summary>
    public static int LoadWeights(string path, FaceSwapModel model)
    {
        int done = 0;
        Read(path, model, (_, _, iteration, _) => done = iteration);
        return done;
    }

    /// <summary>Reads header, history and weights, then hands the reader to <paramref name="rest"/> for the optimiser state.</summary>
    static void Read(string path, FaceSwapModel model, Action<BinaryReader, int, int, List<TrainingStep>> rest)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint not found: {path}", path);
        using var stream = File.OpenRead(path);
        using var r = new BinaryReader(stream);
        try
        {
            if (r.ReadInt32() != Magic) throw new CheckpointException($"{path}: byte 0: not a MovingImages faceswap checkpoint");
            int version = r.ReadInt32();
            if (version is < 1 or > FormatVersion) throw new CheckpointException($"{path}: byte 4: checkpoint format {version}, this build reads 1 to {FormatVersion}");
            if (version >= 3) VerifyHash(path, stream); // before anything reaches the model
            long end = stream.Length - (version >= 3 ? HashBytes : 0);
            var saved = new FaceSwapModelOptions(r.ReadInt32(), r.ReadInt32(), r.ReadInt32());
            if (saved != model.Options) throw new CheckpointException($"{path}: the checkpoint is for a model of {saved}, this model is {model.Options}");
            int iteration = r.ReadInt32();
            long at = stream.Position;
            int count = r.ReadInt32();
            int entry = version >= 2 ? 24 : 20;
            if (count < 0 || count > (end - stream.Position) / entry)
                throw new CheckpointException($"{path}: byte {at}: {count} history entries do not fit in the file");
            var history = new List<TrainingStep>(count);
            for (int i = 0; i < count; i++)
                history.Add(new TrainingStep(r.ReadInt32(), r.ReadSingle(), r.ReadSingle(), r.ReadDouble(), version >= 2 ? r.ReadInt32() : 0));
            model.load(r);
            rest(r, version, iteration, history);
        }
        catch (EndOfStreamException) { throw new CheckpointException($"{path}: truncated at byte {stream.Position:N0}"); }
        catch (InvalidDataException e) { throw new CheckpointException($"{path}: byte {stream.Position:N0}: {e.Message}"); }
    }

    /// <summary>Checks the SHA-256 trailer of a format-3 checkpoint against every byte before it; leaves the stream at byte 8.</summary>
    static void VerifyHash(string path, FileStream stream)
    {
        long body = stream.Length - HashBytes;
        if (body < 8) throw new CheckpointException($"{path}: truncated at byte {stream.Length:N0} (no room for its checksum)");
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        stream.Position = 0;
        var buffer = new byte[1 << 20];
        for (long left = body; left > 0;)
        {
            int n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n <= 0) throw new EndOfStreamException();
            sha.AppendData(buffer, 0, n);
            left -= n;
        }
        var stored = new byte[HashBytes];
        stream.ReadExactly(stored);
        if (!sha.GetHashAndReset().AsSpan().SequenceEqual(stored))
            throw new CheckpointException($"{path}: the checksum does not match its {body:N0} bytes: the file is damaged (truncated, a changed byte, or data appended); " +
                                          "use an earlier checkpoint or train again");
        stream.Position = 8;
    }

    /// <summary>
    /// The preview faceswap shows while training: for <paramref name="count"/> faces of each person, rows of
    /// (A, A→A, A→B) and (B, B→B, B→A), on targets of step 0's batches.
    /// </summary>
    public Mat Preview(int count = 4)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        Model.eval();
        var rows = new List<Mat>();
        try
        {
            foreach (bool a in new[] { true, false })
            {
                var faces = Batch(a, 0).Target[..Math.Min(count, Options.BatchSize)];
                var same = a ? Model.AutoencodeA(faces) : Model.AutoencodeB(faces);
                var swap = a ? Model.SwapAToB(faces) : Model.SwapBToA(faces);
                for (int i = 0; i < faces.shape[0]; i++)
                {
                    using var f = Imaging.ImageTensor.ToBgrMat(faces[i]);
                    using var s = Imaging.ImageTensor.ToBgrMat(same[i]);
                    using var w = Imaging.ImageTensor.ToBgrMat(swap[i]);
                    var row = new Mat();
                    Cv2.HConcat([f, s, w], row);
                    rows.Add(row);
                }
            }
            var grid = new Mat();
            Cv2.VConcat(rows.ToArray(), grid);
            return grid;
        }
        finally
        {
            rows.ForEach(m => m.Dispose());
        }
    }

    /// <summary>Releases the optimisers (the model belongs to the caller).</summary>
    public void Dispose()
    {
        _optA.Dispose();
        _optB.Dispose();
    }
}
