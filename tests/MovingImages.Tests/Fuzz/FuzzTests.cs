using MovingImages.Darknet;
using MovingImages.FaceAnalysis;
using MovingImages.FaceSwap;
using MovingImages.Imaging;
using MovingImages.Notebooks;
using MovingImages.Tests.FaceSwap;
using MovingImages.Tests.FaceAnalysis;
using MovingImages.Video;
using TorchSharp;
using Xunit.Abstractions;

namespace MovingImages.Tests.Fuzz;

/// <summary>
/// Damaged copies of every file format a user hands us (fixed seeds, so a failure reproduces): each must load
/// correctly or fail with the format's own clear exception — never another exception type, a native crash or a hang.
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    const int Mutants = 200;

    /// <summary>Runs <paramref name="attempt"/> on each mutant; only <paramref name="clean"/> exceptions are allowed.</summary>
    void Fuzz(string format, Func<int, object?> attempt, params Type[] clean)
    {
        int ok = 0, refused = 0;
        var failures = new List<string>();
        for (int seed = 1; seed <= Mutants; seed++)
        {
            try { attempt(seed); ok++; }
            catch (Exception e) when (clean.Any(t => t.IsInstanceOfType(e)))
            {
                refused++;
                if (string.IsNullOrWhiteSpace(e.Message) || e.Message.Contains("\n   at ")) failures.Add($"seed {seed}: unclear message: {e.Message}");
            }
            catch (Exception e) { failures.Add($"seed {seed}: {e.GetType().Name}: {e.Message.Split('\n')[0]}"); }
        }
        output.WriteLine($"{format}: {Mutants} mutants, {ok} loaded, {refused} refused cleanly, {failures.Count} failed");
        Assert.True(failures.Count == 0, $"{format}:\n" + string.Join("\n", failures.Take(15)));
    }

    static string Temp(string name) => Path.Combine(TestData.NewTempDir("fuzz"), name);

    [Fact]
    public void Darknet_cfg()
    {
        string text = File.ReadAllText(TestData.Cfg("yolov3-tiny.cfg"));
        Fuzz("cfg", seed =>
        {
            var config = DarknetConfig.Parse(Mutator.MutateLines(text, seed), "fuzz.cfg");
            return config.OutputShapes(config.Net.Width, config.Net.Height);
        }, typeof(DarknetConfigException));
    }

    [Fact]
    public void Darknet_weights()
    {
        var (config, _, path) = SyntheticModels.Get("yolov3-tiny.cfg");
        var bytes = File.ReadAllBytes(path);
        Fuzz("weights", seed =>
        {
            using var stream = new MemoryStream(Mutator.Mutate(bytes, seed));
            return DarknetWeightsFile.Read(stream, config, "fuzz.weights");
        }, typeof(DarknetWeightsException));
    }

    [Fact]
    public void Tfjs_manifest_and_shard()
    {
        string manifest = File.ReadAllText(Path.Combine(FaceModels.Directory, TinyFaceDetector.ManifestName));
        var shard = File.ReadAllBytes(Path.Combine(FaceModels.Directory, "tiny_face_detector_model.bin"));
        Fuzz("tfjs", seed =>
        {
            var dir = TestData.NewTempDir("fuzz-tfjs");
            bool damageManifest = seed % 2 == 0;
            File.WriteAllText(Path.Combine(dir, TinyFaceDetector.ManifestName), damageManifest ? Mutator.MutateLines(manifest.Replace(",", ",\n"), seed) : manifest);
            File.WriteAllBytes(Path.Combine(dir, "tiny_face_detector_model.bin"), damageManifest ? shard : Mutator.Mutate(shard, seed));
            using var detector = TinyFaceDetector.Load(dir, torch.CPU);      // loads, checks and runs the network once
            return null;
        }, typeof(TfjsWeightsException), typeof(FileNotFoundException));
    }

    [Fact]
    public void Notebooks()
    {
        string text = File.ReadAllText(Path.Combine(TestData.RepoRoot, "notebooks", "01-locate-objects.ipynb"));
        Fuzz("ipynb", seed =>
        {
            string path = Temp("fuzz.ipynb");
            File.WriteAllText(path, seed % 2 == 0 ? Mutator.MutateLines(text, seed) : System.Text.Encoding.Latin1.GetString(Mutator.Mutate(System.Text.Encoding.UTF8.GetBytes(text), seed)));
            return NotebookDocument.Load(path);
        }, typeof(NotebookFormatException));
    }

    [Fact]
    public void Checkpoints()
    {
        string good = Temp("good.ckpt");
        var options = new FaceSwapModelOptions(16, 16, 4);
        using (var model = new FaceSwapModel(options))
        using (var trainer = new FaceSwapTrainer(model, TrainingFaces.A, TrainingFaces.B, new TrainingOptions(BatchSize: 2), torch.CPU))
        {
            trainer.Train(2);
            trainer.SaveCheckpoint(good);
        }
        var bytes = File.ReadAllBytes(good);
        using var target = new FaceSwapModel(options);
        using var loader = new FaceSwapTrainer(target, TrainingFaces.A, TrainingFaces.B, new TrainingOptions(BatchSize: 2), torch.CPU);
        Fuzz("checkpoint", seed =>
        {
            string path = Temp("fuzz.ckpt");
            File.WriteAllBytes(path, Mutator.Mutate(bytes, seed));
            loader.LoadCheckpoint(path);
            return null;
        }, typeof(CheckpointException));
    }

    [Fact]
    public void Images()
    {
        var bytes = File.ReadAllBytes(TestData.Image("dog.jpg"));
        Fuzz("jpeg", seed =>
        {
            string path = Temp("fuzz.jpg");
            File.WriteAllBytes(path, Mutator.Mutate(bytes, seed));
            using var image = ImageFiles.Read(path);
            return image.Size();
        }, typeof(InvalidDataException));
    }

    [Fact]
    public void Videos()
    {
        // The first 60 KB of vtest.avi (its header and first frames), damaged; every frame is read.
        var bytes = File.ReadAllBytes(TestData.Shared("data", "video", "vtest.avi"))[..60_000];
        Fuzz("video", seed =>
        {
            string path = Temp("fuzz.avi");
            File.WriteAllBytes(path, Mutator.Mutate(bytes, seed));
            using var source = FrameSources.Open(path);
            int frames = 0;
            while (source.Read() is { } frame) { frame.Dispose(); if (++frames > 1000) throw new InvalidOperationException("no end"); }
            return frames;
        }, typeof(InvalidDataException));
    }
}
