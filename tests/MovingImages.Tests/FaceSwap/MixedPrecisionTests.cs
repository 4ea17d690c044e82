using MovingImages.FaceSwap;
using TorchSharp;
using Xunit.Abstractions;
using static MovingImages.Tests.FaceSwap.TensorAssert;
using MovingImages.Runtime;

namespace MovingImages.Tests.FaceSwap;

public class MixedPrecisionTests(ITestOutputHelper output)
{
    static readonly FaceSwapModelOptions Small = new(32, 64, 16);

    [Theory]
    [InlineData(Precision.BFloat16, torch.ScalarType.BFloat16, 0.03)]   // 8 bits of mantissa
    [InlineData(Precision.Float16, torch.ScalarType.Float16, 0.004)]    // 11 bits
    public void Low_precision_runs_in_that_type_and_stays_close_to_float32(Precision precision, torch.ScalarType type, double bound)
    {
        torch.random.manual_seed(11);
        using var model = new FaceSwapModel(Small);
        using var noGrad = torch.no_grad();
        using var x = torch.rand(2, 3, 32, 32);
        using var reference = model.SwapAToB(x);
        using var referenceCode = model.Encoder.call(x);
        model.Precision = precision;
        using var low = model.SwapAToB(x);
        using var code = model.Encoder.call(x);
        Assert.Equal(type, code.dtype);                                      // the layers compute in the low type…
        Assert.Equal(torch.ScalarType.Float32, low.dtype);                   // …and the output (and so the loss) is float32
        double codeError = (code.to_type(torch.ScalarType.Float32) - referenceCode).abs().max().item<float>() / referenceCode.abs().max().item<float>();
        double diff = (low - reference).abs().max().item<float>();
        output.WriteLine($"{precision}: encoder output max |Δ| / max |x| {codeError:E2}; faces max |Δ| {diff:E2}");
        Assert.True(codeError > 0, "identical to float32: the low-precision path did not run");
        Assert.True(codeError < bound, $"relative error {codeError:E2} ≥ {bound}");
        Assert.True(diff < 0.01, $"faces differ by {diff:E2}");
        Assert.All(model.parameters(), p => Assert.Equal(torch.ScalarType.Float32, p.dtype));
        model.Precision = Precision.Float32;
        using var back = model.SwapAToB(x);
        Assert.True(Same(back, reference));
    }

    [Fact]
    public void Bfloat16_training_learns_like_float32_with_float32_weights()
    {
        float Run(Precision precision)
        {
            torch.random.manual_seed(3);
            using var model = new FaceSwapModel(Small);
            using var trainer = new FaceSwapTrainer(model, TrainingFaces.A, TrainingFaces.B,
                new TrainingOptions(BatchSize: 8, LearningRate: 1e-3, Precision: precision), torch.CPU);
            var steps = trainer.Train(80);
            Assert.All(model.parameters(), p => Assert.Equal(torch.ScalarType.Float32, p.dtype));
            float first = steps.Take(5).Average(s => s.LossA + s.LossB), last = steps.TakeLast(10).Average(s => s.LossA + s.LossB);
            output.WriteLine($"{precision}: loss A+B {first:0.000} → {last:0.000}");
            Assert.True(last < 0.7 * first, $"{precision}: loss {first:0.000} → {last:0.000}");
            return last;
        }
        float fp32 = Run(Precision.Float32), bf16 = Run(Precision.BFloat16);
        Assert.InRange(bf16, 0.8 * fp32, 1.25 * fp32);
    }

    [Fact]
    public void The_loss_scaler_skips_overflowing_steps_and_unscales_gradients()
    {
        using var p = new TorchSharp.Modules.Parameter(torch.ones(4));
        using var optimizer = torch.optim.SGD([p], 0.1);
        var scaler = new LossScaler(enabled: true, initialScale: 65536, growthInterval: 2);

        // 1e4 × 65536 does not fit float16 (max 65504): the gradient overflows, the step is skipped, the scale halves
        optimizer.zero_grad();
        using (var big = (p.to_type(torch.ScalarType.Float16) * 1e4f).sum().to_type(torch.ScalarType.Float32))
            Assert.False(scaler.BackwardAndStep(big, optimizer, [p]));
        Assert.Equal(32768, scaler.Scale);
        Assert.Equal(1, scaler.SkippedSteps);
        Assert.True(Same(p, torch.ones(4)), "a skipped step must not change the weights");

        // a small loss: taken, with the gradient divided back to its true value (0.5 per element)
        for (int i = 0; i < 2; i++)
        {
            optimizer.zero_grad();
            using var small = (p.to_type(torch.ScalarType.Float16) * 0.5f).sum().to_type(torch.ScalarType.Float32);
            Assert.True(scaler.BackwardAndStep(small, optimizer, [p]));
            Assert.Equal(0.5f, p.grad!.max().item<float>(), 4);
        }
        Assert.Equal(1 - 2 * 0.1f * 0.5f, p.min().item<float>(), 4);
        Assert.Equal(65536, scaler.Scale);                                   // two good steps in a row: doubled

        var off = new LossScaler(enabled: false);
        Assert.Equal(1, off.Scale);
    }

    [Fact]
    public void Float16_training_steps_and_its_loss_scale_survive_a_checkpoint()
    {
        var path = Path.Combine(TestData.NewTempDir("fp16"), "model.ckpt");
        var options = new TrainingOptions(BatchSize: 2, LearningRate: 1e-3, Precision: Precision.Float16);
        var tiny = new FaceSwapModelOptions(16, 16, 4);
        torch.random.manual_seed(5);
        using var model = new FaceSwapModel(tiny);
        using var trainer = new FaceSwapTrainer(model, TrainingFaces.A, TrainingFaces.B, options, torch.CPU);
        var before = model.Encoder.parameters().First().clone();
        var steps = trainer.Train(3, checkpointPath: path);
        Assert.All(steps, s => Assert.True(float.IsFinite(s.LossA) && float.IsFinite(s.LossB)));
        Assert.False(Same(model.Encoder.parameters().First(), before), "no step was taken");
        Assert.Equal(65536, trainer.LossScale.A);

        using var again = new FaceSwapModel(tiny);
        using var resumed = new FaceSwapTrainer(again, TrainingFaces.A, TrainingFaces.B, options with { Precision = Precision.Float16 }, torch.CPU);
        resumed.LoadCheckpoint(path);
        Assert.Equal(trainer.LossScale, resumed.LossScale);
        Assert.Equal(3, FaceSwapCheckpoint.LoadWeights(path, again));
    }
}
