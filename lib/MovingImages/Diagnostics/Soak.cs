using System.Diagnostics;
using MovingImages.Darknet;
using MovingImages.FaceAnalysis;
using MovingImages.FaceSwap;
using MovingImages.ObjectDetection;
using MovingImages.Video;
using OpenCvSharp;
using TorchSharp;
using MovingImages.Runtime;

namespace MovingImages.Diagnostics;

/// <summary>What a soak run exercises.</summary>
/// <param name="YoloConfig">Darknet config of the detector.</param>
/// <param name="YoloWeights">Its weights; null: synthetic weights generated in memory (they detect nothing real, and
/// uncalibrated they fire everywhere — the worst case for post-processing).</param>
/// <param name="Video">A video for the detector (read in a loop).</param>
/// <param name="Scene">A video with faces for the face networks, training faces and conversion (read in a loop).</param>
/// <param name="FaceModels">face-api's model folder; null: the face networks and conversion are left out and training
/// uses crops of <paramref name="Scene"/>.</param>
/// <param name="Duration">How long to run the rounds (loading the networks and faces comes first and is not counted).</param>
/// <param name="GcPressure">A thread that forces full collections and runs finalizers in a loop meanwhile (what makes
/// native-lifetime races show on a quiet machine).</param>
/// <param name="InputSize">The detector's input side.</param>
public sealed record SoakOptions(string YoloConfig, string? YoloWeights, string Video, string Scene, string? FaceModels,
    TimeSpan Duration, bool GcPressure = true, int InputSize = 320)
{
    /// <summary>Throws <see cref="ArgumentException"/> or <see cref="FileNotFoundException"/> for a bad value.</summary>
    public SoakOptions Validate()
    {
        foreach (var (file, what) in new[] { (YoloConfig, "darknet config"), (YoloWeights, "darknet weights"), (Video, "video"), (Scene, "scene video") })
            if (file != null && !File.Exists(file)) throw new FileNotFoundException($"soak: {what} not found: {file}", file);
        if (FaceModels != null && !Directory.Exists(FaceModels)) throw new DirectoryNotFoundException($"soak: face models not found: {FaceModels} (movingimages fetch faces)");
        if (Duration <= TimeSpan.Zero) throw new ArgumentException($"soak: the duration must be positive, got {Duration}");
        new YoloOptions(InputSize).Validate();
        return this;
    }
}

/// <summary>What a soak run did and found.</summary>
/// <param name="Rounds">Rounds completed (each: a detector batch, the face networks on a frame, one fp32 and one bf16
/// training step, one converted frame).</param>
/// <param name="DetectorFrames">Frames through the detector.</param>
/// <param name="FaceFrames">Frames through the face networks.</param>
/// <param name="TrainingSteps">Training steps (fp32 and bf16 together).</param>
/// <param name="ConvertedFrames">Frames converted.</param>
/// <param name="Collections">Full collections forced by the pressure thread.</param>
/// <param name="Elapsed">Wall time.</param>
/// <param name="PeakWorkingSetBytes">The largest working set seen.</param>
/// <param name="Problems">Every non-finite value found, where.</param>
public sealed record SoakReport(int Rounds, int DetectorFrames, int FaceFrames, int TrainingSteps, int ConvertedFrames, int Collections,
    TimeSpan Elapsed, long PeakWorkingSetBytes, IReadOnlyList<string> Problems)
{
    /// <summary>True when nothing non-finite was found.</summary>
    public bool Healthy => Problems.Count == 0;

    /// <inheritdoc/>
    public override string ToString() =>
        $"soak: {Rounds} rounds in {Elapsed.TotalSeconds:0} s — {DetectorFrames} detector frames, {FaceFrames} face-network frames, " +
        $"{TrainingSteps} training steps (fp32 + bf16), {ConvertedFrames} converted frames, {Collections} forced collections; " +
        $"peak working set {PeakWorkingSetBytes / 1048576.0:0} MB; {Problems.Count} non-finite results";
}

/// <summary>
/// Runs every TorchSharp path of the project in one process — YOLO on video frames, the four face networks, training in
/// fp32 and bf16, conversion — round after round, optionally under GC pressure, and checks every network output for
/// non-finite values. A native crash ends the process, so run it in a process of its own (<c>movingimages soak</c>).
/// </summary>
public static class Soak
{
    /// <summary>
    /// Loads everything, then runs rounds until <see cref="SoakOptions.Duration"/> has passed or
    /// <paramref name="cancellationToken"/> is cancelled — at least one round, however slow the loading was.
    /// </summary>
    public static SoakReport Run(SoakOptions options, IProgress<SoakReport>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        var problems = new List<string>();
        int rounds = 0, detectorFrames = 0, faceFrames = 0, steps = 0, converted = 0;
        long peak = Environment.WorkingSet;

        var config = DarknetConfig.Load(options.YoloConfig);
        using var yolo = options.YoloWeights != null
            ? Yolo.Load(options.YoloConfig, options.YoloWeights, device: torch.CPU)
            : Yolo.FromWeights(config, SyntheticWeights.Generate(config), device: torch.CPU);
        using var faces = options.FaceModels != null ? Faces.Load(options.FaceModels, torch.CPU) : null;
        using var video = new LoopingReader(options.Video);
        using var scene = new LoopingReader(options.Scene);

        var trainingFaces = TrainingFaces(scene, faces, 8);
        using var pressure = options.GcPressure ? new GcPressure() : null;
        try
        {
            var modelOptions = new FaceSwapModelOptions(32, 64, 16);
            torch.random.manual_seed(1);
            using var model32 = new FaceSwapModel(modelOptions);
            using var model16 = new FaceSwapModel(modelOptions);
            using var fp32 = new FaceSwapTrainer(model32, trainingFaces, trainingFaces, new TrainingOptions(BatchSize: 4, LearningRate: 1e-4), torch.CPU);
            using var bf16 = new FaceSwapTrainer(model16, trainingFaces, trainingFaces, new TrainingOptions(BatchSize: 4, LearningRate: 1e-4, Precision: Precision.BFloat16), torch.CPU);
            var converter = faces != null ? new FaceSwapConverter(model32, faces) : null;

            clock.Restart();                                                    // the duration is the rounds' (on a busy machine loading alone can take longer)
            while (clock.Elapsed < options.Duration && !cancellationToken.IsCancellationRequested)
            {
                using (var a = video.Next())
                using (var b = video.Next())
                {
                    CheckDetector(yolo, [a, b], options.InputSize, problems, rounds);
                    detectorFrames += 2;
                }
                using (var frame = scene.Next())
                {
                    if (faces != null)
                    {
                        foreach (var f in faces.DetectFaces(frame, FaceOptions.Default with { Descriptors = true, MinScore = 0.3f }))
                            if (!Finite(f)) problems.Add($"round {rounds}: face network output not finite ({f.Box}, score {f.Score})");
                        faceFrames++;
                    }
                    foreach (var trainer in new[] { fp32, bf16 })
                    {
                        try
                        {
                            trainer.Step();
                        }
                        catch (TrainingDivergedException e)
                        {
                            problems.Add($"round {rounds}: {e.Message}");
                        }
                        steps++;
                    }
                    if (converter != null)
                    {
                        var (image, _) = converter.Convert(frame);
                        image.Dispose();
                        converted++;
                    }
                }
                rounds++;
                peak = Math.Max(peak, Environment.WorkingSet);
                progress?.Report(Report());
            }
        }
        finally
        {
            trainingFaces.ForEach(f => f.Dispose());
        }
        return Report();

        SoakReport Report() => new(rounds, detectorFrames, faceFrames, steps, converted, pressure?.Collections ?? 0, clock.Elapsed, peak, problems.ToArray());
    }

    static void CheckDetector(Yolo yolo, IReadOnlyList<Mat> frames, int inputSize, List<string> problems, int round)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (input, _) = yolo.Prepare(frames, inputSize);
        foreach (var head in yolo.Forward(input))
            if (!torch.isfinite(head).all().item<bool>()) problems.Add($"round {round}: detector head {head.shape[2]}×{head.shape[3]} not finite");
        var options = YoloOptions.Default with { InputSize = inputSize };
        foreach (var detections in yolo.DetectObjects(frames, options))
            foreach (var d in detections)
                if (!float.IsFinite(d.Score) || !float.IsFinite(d.Box.X) || !float.IsFinite(d.Box.Width)) problems.Add($"round {round}: detection not finite ({d})");
    }

    static bool Finite(FaceRecord f) =>
        float.IsFinite(f.Score) && float.IsFinite(f.Box.X) && float.IsFinite(f.Box.Y) && float.IsFinite(f.Box.Width) && float.IsFinite(f.Box.Height)
        && (f.Descriptor?.All(float.IsFinite) ?? true)
        && (f.Landmarks?.Points.All(p => float.IsFinite(p.X) && float.IsFinite(p.Y)) ?? true);

    /// <summary>Aligned faces of the scene when the face networks are there, else centre crops of its frames.</summary>
    static List<Mat> TrainingFaces(LoopingReader scene, Faces? faces, int count)
    {
        var found = new List<Mat>();
        for (int tries = 0; found.Count < count && tries < 200; tries++)
        {
            using var frame = scene.Next();
            if (faces == null)
            {
                int side = Math.Min(frame.Rows, frame.Cols) / 2;
                using var crop = new Mat(frame, new Rect((frame.Cols - side) / 2, (frame.Rows - side) / 2, side, side));
                found.Add(crop.Resize(new Size(128, 128)));
                continue;
            }
            foreach (var f in faces.DetectFaces(frame, FaceOptions.Default with { MinScore = 0.3f }))
                if (f.Landmarks != null && found.Count < count)
                {
                    using var aligned = FaceAligner.Align(frame, f.Landmarks, 128);
                    found.Add(aligned.Image.Clone());
                }
        }
        if (found.Count == 0) throw new InvalidDataException("soak: no faces found in the scene video for training");
        return found;
    }

    /// <summary>Frames of a video, from the start again after the last.</summary>
    sealed class LoopingReader(string path) : IDisposable
    {
        IFrameSource _source = FrameSources.Open(path);

        public Mat Next()
        {
            var frame = _source.Read();
            if (frame == null)
            {
                _source.Dispose();
                _source = FrameSources.Open(path);
                frame = _source.Read() ?? throw new InvalidDataException($"soak: {path} has no frames");
            }
            using (frame) return frame.Image.Clone();
        }

        public void Dispose() => _source.Dispose();
    }

    /// <summary>A thread that forces full collections and waits for finalizers, in a loop, until disposed.</summary>
    sealed class GcPressure : IDisposable
    {
        readonly CancellationTokenSource _stop = new();
        readonly Thread _thread;
        int _collections;

        public GcPressure()
        {
            _thread = new Thread(() =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
                    GC.WaitForPendingFinalizers();
                    Interlocked.Increment(ref _collections);
                    Thread.Sleep(2);
                }
            }) { IsBackground = true, Name = "soak GC pressure" };
            _thread.Start();
        }

        public int Collections => Volatile.Read(ref _collections);

        public void Dispose()
        {
            _stop.Cancel();
            _thread.Join();
            _stop.Dispose();
        }
    }
}
