using MovingImages.FaceSwap;
using OpenCvSharp;

namespace MovingImages.Tests.FaceSwap;

/// <summary>Each options record is validated in one place, and every user of it goes through that place.</summary>
public class OptionsValidationTests
{
    public static TheoryData<TrainingOptions, string> BadTraining => new()
    {
        { new TrainingOptions(BatchSize: 0), "batch size" },
        { new TrainingOptions(LearningRate: -1e-4), "learning rate" },
        { new TrainingOptions(LearningRate: double.NaN), "learning rate" },
        { new TrainingOptions(Beta1: 1), "beta1" },
        { new TrainingOptions(Beta2: -0.1), "beta2" },
        { new TrainingOptions(CheckpointEvery: -1), "checkpoint interval" },
        { new TrainingOptions(PreviewEvery: -5), "preview interval" },
        { new TrainingOptions(Augment: new AugmentOptions(FlipProbability: 1.5)), "flip probability" },
    };

    [Theory]
    [MemberData(nameof(BadTraining))]
    public void Bad_training_options_are_refused_by_name(TrainingOptions options, string named)
    {
        Assert.Contains(named, Assert.Throws<ArgumentException>(() => options.Validate()).Message);
        // the trainer refuses them before building anything
        using var model = new FaceSwapModel(new FaceSwapModelOptions(32, 64, 16));
        using var face = new Mat(64, 64, MatType.CV_8UC3, Scalar.All(128));
        Assert.Contains(named, Assert.Throws<ArgumentException>(() => new FaceSwapTrainer(model, [face], [face], options)).Message);
    }

    [Fact]
    public void The_defaults_are_valid()
    {
        Assert.Same(TrainingOptions.Default, TrainingOptions.Default.Validate());
        Assert.Same(AugmentOptions.Default, AugmentOptions.Default.Validate());
        Assert.Same(ConvertOptions.Default, ConvertOptions.Default.Validate());
        foreach (var preset in new[] { FaceSwapPreset.Classroom, FaceSwapPreset.Chapter })
            preset.TrainingOptions().Validate();
    }

    public static TheoryData<ConvertOptions, string> BadConvert => new()
    {
        { new ConvertOptions(Duration: 0), "duration" },
        { new ConvertOptions(Start: -1), "start" },
        { new ConvertOptions(MinScore: 2), "score" },
        { new ConvertOptions(MaskErode: -1), "mask" },
        { new ConvertOptions(Direction: (SwapDirection)7), "direction" },
    };

    [Theory]
    [MemberData(nameof(BadConvert))]
    public void Bad_convert_options_are_refused_by_name(ConvertOptions options, string named)
    {
        Assert.Contains(named, Assert.Throws<ArgumentException>(() => options.Validate()).Message);
        var faceit = new FaceIt("m", "a", "b", TestData.NewTempDir("convert-options"));
        // refused before looking for a model or a video
        Assert.Contains(named, Assert.Throws<ArgumentException>(() => faceit.Convert("no-such-video.mp4", options)).Message);
    }
}
