using MovingImages.Imaging;
using MovingImages.IO;
using MovingImages.Runtime;
using OpenCvSharp;
using TorchSharp;

namespace MovingImages.FaceSwap;

/// <summary>An identity measurement taken during training.</summary>
/// <param name="Iteration">Steps trained when it was taken.</param>
/// <param name="Score">How far A's converted faces are from B and from A.</param>
public sealed record IdentityCheck(int Iteration, IdentityScore Score);

/// <summary>
/// One training run of a <see cref="FaceIt"/> project, set up once: both people's faces, the model (resumed from the
/// checkpoint, or new from <see cref="TrainingOptions.Seed"/>) and its trainer. <see cref="Train"/> runs in chunks and,
/// between them, measures identity with a probe on the model in memory; the checkpoint is written every
/// <see cref="TrainingOptions.CheckpointEvery"/> steps and at the end of each chunk, the preview grid to
/// <see cref="FaceIt.PreviewPath"/> every <see cref="TrainingOptions.PreviewEvery"/> steps. The CLI's
/// <c>fakevideo train</c>, the demo and notebook 02 (through <see cref="FaceIt.Train"/>) all train through it.
/// </summary>
public sealed class TrainingSession : IDisposable
{
    readonly FaceIt _project;
    readonly List<Mat> _facesA, _facesB;
    readonly FaceSwapTrainer _trainer;

    internal TrainingSession(FaceIt project, TrainingOptions? options)
    {
        _project = project;
        options = (options ?? TrainingOptions.Default).Validate();
        _facesA = project.LoadFaces(project.PersonA);
        try
        {
            _facesB = project.LoadFaces(project.PersonB);
            Resumed = File.Exists(project.CheckpointPath);
            Model = Resumed ? new FaceSwapModel(project.ModelOptions) : FaceSwapModel.Initial(project.ModelOptions, options.Seed); // the same options train the same model
            _trainer = new FaceSwapTrainer(Model, _facesA, _facesB, options);
            if (Resumed) _trainer.LoadCheckpoint(project.CheckpointPath);
            _trainer.PreviewReady += WritePreview;
        }
        catch
        {
            _trainer?.Dispose();
            Model?.Dispose();
            _facesA.ForEach(m => m.Dispose());
            _facesB?.ForEach(m => m.Dispose());
            throw;
        }
    }

    /// <summary>Whether training continues from the project's checkpoint.</summary>
    public bool Resumed { get; }
    /// <summary>The model being trained (owned by the session).</summary>
    public FaceSwapModel Model { get; }
    /// <summary>The settings.</summary>
    public TrainingOptions Options => _trainer.Options;
    /// <summary>Steps done, resumed runs included.</summary>
    public int Iteration => _trainer.Iteration;
    /// <summary>Every step's losses, resumed runs included.</summary>
    public IReadOnlyList<TrainingStep> History => _trainer.History;

    /// <summary>Raised with the iteration and the preview grid after it is written (disposed when the handlers return).</summary>
    public event Action<int, Mat>? PreviewReady;
    /// <summary>Raised after each identity measurement of <see cref="Train"/>.</summary>
    public event Action<IdentityCheck>? IdentityMeasured;

    void WritePreview(int iteration, Mat grid)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_project.PreviewPath)!);
        AtomicFile.Write(_project.PreviewPath, tmp => File.WriteAllBytes(tmp, ImageFiles.ToPng(grid)));
        PreviewReady?.Invoke(iteration, grid);
    }

    /// <summary>
    /// How far A's faces converted by the model as trained so far are from B and from A (in float32, as conversion
    /// runs it, whatever the training precision).
    /// </summary>
    public IdentityScore MeasureIdentity(IdentityProbe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var training = Model.Precision;
        Model.Precision = Precision.Float32;
        try { return probe.Measure(Model); }
        finally { Model.Precision = training; }
    }

    /// <summary>
    /// Trains <paramref name="iterations"/> more steps (fewer when cancelled: the checkpoint then holds the step reached).
    /// With a <paramref name="probe"/> and <paramref name="identityEvery"/> &gt; 0, measures identity every that many
    /// steps and raises <see cref="IdentityMeasured"/>. Returns the steps done.
    /// </summary>
    public IReadOnlyList<TrainingStep> Train(int iterations, IProgress<TrainingStep>? progress = null, CancellationToken cancellationToken = default,
        IdentityProbe? probe = null, int identityEvery = 0)
    {
        if (iterations < 0) throw new ArgumentException($"iterations must be 0 or more, got {iterations}");
        if (identityEvery < 0) throw new ArgumentException($"identity interval must be 0 (never) or more, got {identityEvery}");
        if (identityEvery > 0 && probe == null) throw new ArgumentException("measuring identity during training needs a probe (FaceIt.IdentityProbe)");
        var done = new List<TrainingStep>();
        while (done.Count < iterations && !cancellationToken.IsCancellationRequested)
        {
            int chunk = identityEvery > 0 ? Math.Min(identityEvery, iterations - done.Count) : iterations - done.Count;
            var steps = _trainer.Train(chunk, progress, _project.CheckpointPath, cancellationToken);
            if (steps.Count == 0) break;
            done.AddRange(steps);
            if (identityEvery > 0 && !cancellationToken.IsCancellationRequested)
                IdentityMeasured?.Invoke(new IdentityCheck(Iteration, MeasureIdentity(probe!)));
        }
        return done;
    }

    /// <summary>The preview grid of the model as trained so far (the caller disposes it).</summary>
    public Mat Preview(int count = 4) => _trainer.Preview(count);

    /// <summary>Releases the model, the optimisers and the faces.</summary>
    public void Dispose()
    {
        _trainer.Dispose();
        Model.Dispose();
        _facesA.ForEach(m => m.Dispose());
        _facesB.ForEach(m => m.Dispose());
    }
}
