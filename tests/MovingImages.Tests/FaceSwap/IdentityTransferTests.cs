using MovingImages.FaceAnalysis;
using MovingImages.FaceSwap;
using MovingImages.Imaging;
using MovingImages.Tests.FaceAnalysis;
using MovingImages.Video;
using OpenCvSharp;
using TorchSharp;
using Xunit.Abstractions;

namespace MovingImages.Tests.FaceSwap;

/// <summary>
/// Identity transfer measured with the descriptor network: A's faces (the woman in Megamind.avi), converted with a model
/// trained on A and B (the man with glasses), should come to look like B — by descriptor distance, not only by loss.
/// </summary>
public class IdentityTransferTests(ITestOutputHelper output)
{
    static string Megamind => TestData.Shared("data", "video", "Megamind.avi");

    [Fact]
    public void Converted_faces_move_towards_the_target_person_as_training_proceeds()
    {
        var faceit = new FaceIt("woman_to_man", "woman", "man", TestData.NewTempDir("identity"))
        {
            FaceModels = FaceModels.Directory, FilterThreshold = 0.465f, CropSize = 128, ModelOptions = new FaceSwapModelOptions(64, 256, 32),
        };
        faceit.Add("woman", Megamind);
        faceit.Add("man", Megamind);
        faceit.SetPersonPhoto("woman", Megamind, 70, new Rect(200, 170, 220, 230));
        faceit.SetPersonPhoto("man", Megamind, 120);
        faceit.Preprocess(everyNthFrame: 10);                                // frames 0, 10, 20, … train

        using var probe = faceit.IdentityProbe(everyNthFrame: 10, maxFaces: 12); // frames 5, 15, 25, … measure
        output.WriteLine($"{probe.Count} faces of her; unconverted: {probe.Original}");
        Assert.True(probe.Count >= 8, $"only {probe.Count} faces of her to measure");
        Assert.True(probe.Original.ToSource < 0.35 && probe.Original.ToTarget > 0.5, $"the two people should be told apart: {probe.Original}");

        // the library's training session, as the CLI, the demo and notebook 02 use it: identity measured every 300 steps
        // on the model in memory, no reload between chunks
                using var session = faceit.OpenTraining(new TrainingOptions(BatchSize: 8, LearningRate: 3e-4, Seed: 7));
        var checks = new List<IdentityCheck>();
        session.IdentityMeasured += checks.Add;
        var start = session.MeasureIdentity(probe);
        var steps = session.Train(900, probe: probe, identityEvery: 300);
        Assert.Equal(900, steps.Count);
        Assert.Equal([300, 600, 900], checks.Select(c => c.Iteration));
        var end = checks[^1].Score;
        output.WriteLine($"iteration 0: {start}\n" + string.Join("\n", checks.Select(c => $"iteration {c.Iteration}: {c.Score}")));
        using (var saved = faceit.LoadModel()) // the checkpoint holds the model that was measured
            Assert.Equal(end.ToTarget, probe.Measure(saved).ToTarget, 4);

        Assert.True(end.ToTarget < start.ToTarget - 0.05, $"distance to him {start.ToTarget:0.000} → {end.ToTarget:0.000}");
        Assert.True(end.ToTarget < probe.Original.ToTarget, $"converted faces ({end.ToTarget:0.000}) should be closer to him than hers are ({probe.Original.ToTarget:0.000})");
        Assert.True(end.ToTarget < end.ToSource, $"converted faces should be closer to him ({end.ToTarget:0.000}) than to her ({end.ToSource:0.000})");
    }
}
