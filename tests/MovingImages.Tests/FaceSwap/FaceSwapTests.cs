using MovingImages.FaceAnalysis;
using MovingImages.FaceSwap;
using MovingImages.Nn;
using MovingImages.Imaging;
using MovingImages.Tests.FaceAnalysis;
using OpenCvSharp;
using TorchSharp;
using Xunit.Abstractions;
using static MovingImages.Tests.FaceSwap.TensorAssert;

namespace MovingImages.Tests.FaceSwap;

internal static class TensorAssert
{
    public static bool Same(torch.Tensor a, torch.Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}

public class FaceSwapModelTests
{
    [Fact]
    public void The_default_model_is_the_chapters()
    {
        torch.random.manual_seed(1);
        using var model = new FaceSwapModel();
        Assert.Equal(69_662_976, FaceSwapModel.ParameterCount(model.Encoder));
        Assert.Equal(6_199_747, FaceSwapModel.ParameterCount(model.DecoderA));
        Assert.Equal(6_199_747, FaceSwapModel.ParameterCount(model.DecoderB));
        Assert.Equal(69_662_976 + 2 * 6_199_747, FaceSwapModel.ParameterCount(model)); // one encoder, shared
        using var noGrad = torch.no_grad();
        using var x = torch.rand(2, 3, 64, 64);
        using var code = model.Encoder.call(x);
        Assert.Equal([2L, 512, 8, 8], code.shape);
        using var y = model.SwapAToB(x);
        Assert.Equal([2L, 3, 64, 64], y.shape);
        Assert.True(y.min().item<float>() >= 0 && y.max().item<float>() <= 1); // sigmoid
        var summary = model.Summary();
        Assert.Contains("69,662,976", summary);
        Assert.Contains("6,199,747", summary);
        Assert.Contains("(512, 8, 8)", summary);
    }

    [Fact]
    public void Pixel_shuffle_is_depth_to_space()
    {
        using var x = torch.arange(2 * 12 * 3 * 5, dtype: torch.ScalarType.Float32).view(2, 12, 3, 5); // C = 3 after the shuffle
        using var y = new PixelShuffle2().call(x);
        Assert.Equal([2L, 3, 6, 10], y.shape);
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 3; c++)
                for (int h = 0; h < 3; h++)
                    for (int w = 0; w < 5; w++)
                        for (int i = 0; i < 2; i++)
                            for (int j = 0; j < 2; j++)
                                Assert.Equal(x[b, (2 * i + j) * 3 + c, h, w].item<float>(), y[b, c, 2 * h + i, 2 * w + j].item<float>());
    }

    [Fact]
    public void Pixel_shuffle_of_a_channels_last_tensor_is_the_same_tensor_stored_channels_last()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, 16, 3, 5);
        var nhwc = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);         // same values, channels-last storage
        Assert.True(ChannelsLast.Is(nhwc));
        Assert.False(ChannelsLast.Is(x));
        var expected = new PixelShuffle2().call(x);
        var y = new PixelShuffle2().call(nhwc);
        Assert.True(Same(expected, y), "the channels-last shuffle moved values elsewhere");
        Assert.True(ChannelsLast.Is(y), "the output is not channels-last");
        Assert.True(ChannelsLast.Is(ChannelsLast.Of(x)) && Same(ChannelsLast.Of(x), x));
    }

    [Fact]
    public void Channels_last_activations_and_matrix_product_convolutions_compute_what_NCHW_convolutions_do_forward_and_backward()
    {
        torch.random.manual_seed(3);
        // 128 filters: the last encoder convolution (512 → 1024 channels, 2×2 outputs) runs as one matrix product (TfOps.PreferGemm)
        using var model = new FaceSwapModel(new FaceSwapModelOptions(32, 64, 128));
        Assert.True(model.ChannelsLast);                                              // the default
        Assert.True(MovingImages.Nn.TfOps.PreferGemm(4, 4, 512, 5, 2));
        using var scope = torch.NewDisposeScope();
        var x = torch.rand(2, 3, 32, 32);
        var target = torch.rand(2, 3, 32, 32);
        (torch.Tensor Output, torch.Tensor[] Grads) Run(bool channelsLast)
        {
            model.ChannelsLast = channelsLast;
            model.zero_grad();
            var y = model.AutoencodeA(x);
            (y - target).abs().mean().backward();
            return (y.detach(), model.Encoder.parameters().Concat(model.DecoderA.parameters()).Select(p => p.grad!.clone()).ToArray());
        }
        var (nchw, nchwGrads) = Run(false);
        var (nhwc, nhwcGrads) = Run(true);
        Assert.True(nhwc.allclose(nchw, 1e-4, 1e-5), $"outputs differ by {(nhwc - nchw).abs().max().item<float>()}");
        Assert.True(ChannelsLast.Is(model.Encoder.call(x)), "the encoder's output is not channels-last: the convolutions got NCHW inputs");
        foreach (var (a, b) in nhwcGrads.Zip(nchwGrads))
            Assert.True(a.allclose(b, 1e-3, 1e-6), $"a gradient differs by {(a - b).abs().max().item<float>()} (of {b.abs().max().item<float>()})");
    }

    [Fact]
    public void The_initial_model_of_a_seed_is_the_same_whatever_drew_random_numbers_before()
    {
        // The demo's "untrained" identity figure came from `new FaceSwapModel(...)` on whatever state torch's global
        // generator was in: 0.563 in one run and 0.566 in the next, same code and seed. Initial(options, seed) is the
        // model training with that seed starts from.
        var options = new FaceSwapModelOptions(32, 64, 8);
        using var first = FaceSwapModel.Initial(options, 7);
        using (torch.rand(1000)) { }                                           // someone else draws in between
        using var second = FaceSwapModel.Initial(options, 7);
        Assert.All(first.parameters().Zip(second.parameters()), p => Assert.True(p.First.allclose(p.Second, 0, 0)));
        using var unseeded = new FaceSwapModel(options);
        Assert.False(first.parameters().Zip(unseeded.parameters()).All(p => p.First.allclose(p.Second, 0, 0)));
    }

    [Fact]
    public void Sizes_are_parameters_and_bad_ones_are_refused()
    {
        using var small = new FaceSwapModel(new FaceSwapModelOptions(32, 64, 16));
        using var noGrad = torch.no_grad();
        using var y = small.AutoencodeA(torch.rand(1, 3, 32, 32));
        Assert.Equal([1L, 3, 32, 32], y.shape);
        Assert.Throws<ArgumentException>(() => new FaceSwapModelOptions(40).Validate());
        Assert.Throws<ArgumentException>(() => new FaceSwapModelOptions(64, 0).Validate());
        Assert.Contains("view", Assert.Throws<ArgumentException>(() => new FaceSwapModelOptions(64, View: 0.9).Validate()).Message);
        Assert.Contains("view", Assert.Throws<ArgumentException>(() => new FaceSwapModelOptions(64, View: 1.6).Validate()).Message);
    }
}

/// <summary>Aligned faces of two "people" for training tests: the faces of sample1.jpg and of sample2.jpg.</summary>
public static class TrainingFaces
{
    static readonly Lazy<(Mat[] A, Mat[] B)> Faces = new(() =>
    {
        using var faces = MovingImages.FaceAnalysis.Faces.Load(FaceModels.Directory, torch.CPU);
        Mat[] Crops(string photo)
        {
            using var image = ImageFiles.Read(TestData.Shared("data", "faces", photo));
            return faces.DetectFaces(image).Select(f => FaceAligner.Align(image, f.Landmarks!, 128).Image).ToArray();
        }
        return (Crops("sample1.jpg"), Crops("sample2.jpg"));
    });

    public static IReadOnlyList<Mat> A => Faces.Value.A;
    public static IReadOnlyList<Mat> B => Faces.Value.B;
}

public class FaceAugmenterTests
{
    [Fact]
    public void Without_noise_or_transform_the_warp_is_its_own_target()
    {
        var calm = new AugmentOptions(0, 0, 0, 0, WarpNoise: 0);
        var (warped, target) = new FaceAugmenter(64, 1, calm).RandomWarp(TrainingFaces.A[0]);
        using (warped)
        using (target)
        {
            Assert.Equal((64, 64), (warped.Cols, warped.Rows));
            // faceswap's warp samples its interpolated grid at pixel centres and the target at pixel corners: the two
            // differ by half an output pixel, a few grey levels of blur. Two pixels off would be far worse.
            using var diff = new Mat();
            Cv2.Absdiff(warped, target, diff);
            double aligned = Cv2.Mean(diff).Val0;
            using var shifted = new Mat();
            using (var m = Mat.FromPixelData(2, 3, MatType.CV_64FC1, new double[] { 1, 0, 2, 0, 1, 2 }))
                Cv2.WarpAffine(target, shifted, m, target.Size(), InterpolationFlags.Linear, BorderTypes.Replicate);
            using var off = new Mat();
            Cv2.Absdiff(warped, shifted, off);
            Assert.True(aligned < 6, $"mean difference {aligned:0.00}");
            Assert.True(Cv2.Mean(off).Val0 > 2 * aligned, $"2 px off: {Cv2.Mean(off).Val0:0.00} vs aligned {aligned:0.00}");
        }
    }

    [Fact]
    public void The_target_is_the_similarity_aligned_crop()
    {
        // With noise, the target is the crop's covered square (0.625 of it, centred) under a small similarity: close to a
        // plain resize of that square, and much closer to it than the warped input is.
        var face = TrainingFaces.B[0];
        using var reference = new Mat();
        int side = (int)(128 * FaceAligner.DefaultCoverage), off = (128 - side) / 2;
        using (var centre = new Mat(face, new Rect(off, off, side, side))) Cv2.Resize(centre, reference, new Size(64, 64));
        var augmenter = new FaceAugmenter(64, 7, AugmentOptions.Default with { RotationDegrees = 0, Zoom = 0, Shift = 0, FlipProbability = 0 });
        double targetError = 0, warpedError = 0;
        for (int i = 0; i < 10; i++)
        {
            var (w, t) = augmenter.RandomWarp(face);
            using (w)
            using (t)
            using (var dt = new Mat())
            using (var dw = new Mat())
            {
                Cv2.Absdiff(t, reference, dt);
                Cv2.Absdiff(w, reference, dw);
                targetError += Cv2.Mean(dt).Val0;
                warpedError += Cv2.Mean(dw).Val0;
            }
        }
        Assert.True(targetError < warpedError, $"target {targetError / 10:0.0} vs warped {warpedError / 10:0.0}");
        Assert.True(targetError / 10 < 12, $"target differs from the aligned crop by {targetError / 10:0.0} grey levels");
    }

    [Fact]
    public void Seeds_reproduce()
    {
        var (w1, t1) = new FaceAugmenter(64, 5).NextBatch(TrainingFaces.A, 3);
        var (w2, t2) = new FaceAugmenter(64, 5).NextBatch(TrainingFaces.A, 3);
        var (w3, _) = new FaceAugmenter(64, 6).NextBatch(TrainingFaces.A, 3);
        Assert.True(Same(w1, w2) && Same(t1, t2));
        Assert.False(Same(w1, w3));
        Assert.Equal([3L, 3, 64, 64], w1.shape);
    }
}

public class FaceSwapTrainerTests(ITestOutputHelper output)
{
    static readonly FaceSwapModelOptions Small = new(32, 64, 16);

    [Fact]
    public void A_non_finite_loss_stops_training_with_the_step_and_loss_and_no_checkpoint_holds_a_non_finite_weight()
    {
        torch.random.manual_seed(4);
        using var model = new FaceSwapModel(Small);
        using var trainer = new FaceSwapTrainer(model, TrainingFaces.A, TrainingFaces.B, new TrainingOptions(BatchSize: 4, LearningRate: 1e-3), torch.CPU);
        trainer.Step();
        string checkpoint = Path.Combine(TestData.NewTempDir("nan-ckpt"), "model.ckpt");
        trainer.SaveCheckpoint(checkpoint);
        byte[] good = File.ReadAllBytes(checkpoint);
        using (torch.no_grad())
        {
            var bias = model.DecoderA.named_parameters().Last(p => p.name.EndsWith("bias")).parameter;
            bias.fill_(float.NaN);
        }
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Step());
        Assert.Contains("step 2: loss A is NaN (Float32)", e.Message);
        Assert.Equal(1, trainer.Iteration);
        var refused = Assert.Throws<TrainingDivergedException>(() => trainer.SaveCheckpoint(checkpoint));
        Assert.Contains("is not finite", refused.Message);
        Assert.Equal(good, File.ReadAllBytes(checkpoint)); // the earlier checkpoint is untouched
    }

    /// <summary>Zero in the forward pass, NaN in the backward one (0 · ∞ at √|0|): poisons every gradient upstream.</summary>
    static torch.Tensor NaNGradient(torch.Tensor output)
    {
        using var zero = 0f.ToScalar();
        return output.add((output - output.detach()).abs().sqrt().mul(zero));
    }

    [Fact]
    public void A_step_that_oneDNN_made_non_finite_is_computed_again_without_it_and_matches_a_run_without_oneDNN()
    {
        Assert.True(TrainingOptions.Default.OneDnn, "oneDNN is the default for training");
        var options = new TrainingOptions(BatchSize: 4, LearningRate: 1e-3, Seed: 5);
        torch.random.manual_seed(6);
        using var model = new FaceSwapModel(Small);
        using var trainer = new FaceSwapTrainer(model, TrainingFaces.A, TrainingFaces.B, options, torch.CPU);
        var before = model.parameters().Select(p => p.clone()).ToArray();
        // as the oneDNN fault did: non-finite gradients for a finite loss, only while oneDNN is on
        trainer.OutputHook = o => MovingImages.Runtime.TorchRuntime.OneDnnEnabled ? NaNGradient(o) : o;
        var step = trainer.Step();
        Assert.True(float.IsFinite(step.LossA) && float.IsFinite(step.LossB));
        Assert.Equal(2, trainer.OneDnnRetries);                                                           // A's and B's
        Assert.True(MovingImages.Runtime.TorchRuntime.OneDnnEnabled, "oneDNN is back on after the retry");
        Assert.All(model.parameters(), p => Assert.True(torch.isfinite(p).all().item<bool>()));
        Assert.Contains(model.parameters().Zip(before), p => !Same(p.First, p.Second));  // the step was taken

        // the retried step is the step a run without oneDNN takes
        torch.random.manual_seed(6);
        using var reference = new FaceSwapModel(Small);
        using var plain = new FaceSwapTrainer(reference, TrainingFaces.A, TrainingFaces.B, options, torch.CPU);
        using (MovingImages.Runtime.TorchRuntime.WithoutOneDnn())
        {
            plain.Step();
        }
        Assert.All(model.parameters().Zip(reference.parameters()), p => Assert.True(Same(p.First, p.Second), "retried step differs from a step without oneDNN"));
    }

    [Fact]
    public void Gradients_that_stay_non_finite_without_oneDNN_stop_training_and_leave_the_weights()
    {
        torch.random.manual_seed(6);
        using var model = new FaceSwapModel(Small);
        using var trainer = new FaceSwapTrainer(model, TrainingFaces.A, TrainingFaces.B, new TrainingOptions(BatchSize: 4, LearningRate: 1e-3), torch.CPU);
        var before = model.parameters().Select(p => p.clone()).ToArray();
        trainer.OutputHook = NaNGradient;
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Step());
        Assert.Contains("step 1: the gradients of autoencoder A are not finite (Float32) for a finite loss", e.Message);
        Assert.Equal(0, trainer.Iteration);
        Assert.All(model.parameters().Zip(before), p => Assert.True(Same(p.First, p.Second), "weights changed"));
    }

    [Fact]
    public void Training_lowers_both_losses_and_updates_the_shared_encoder()
    {
        torch.random.manual_seed(3);
        using var model = new FaceSwapModel(Small);
        using var trainer = new FaceSwapTrainer(model, TrainingFaces.A, TrainingFaces.B, new TrainingOptions(BatchSize: 8, LearningRate: 1e-3), torch.CPU);
        var encoderBefore = model.Encoder.parameters().First().clone();
        var decoderABefore = model.DecoderA.parameters().First().clone();
        var decoderBBefore = model.DecoderB.parameters().First().clone();
        var steps = trainer.Train(150);
        float firstA = steps.Take(5).Average(s => s.LossA), lastA = steps.TakeLast(10).Average(s => s.LossA);
        float firstB = steps.Take(5).Average(s => s.LossB), lastB = steps.TakeLast(10).Average(s => s.LossB);
        output.WriteLine($"loss A {firstA:0.000} → {lastA:0.000}, loss B {firstB:0.000} → {lastB:0.000}, {steps[^1].SamplesPerSecond:0} samples/s");
        Assert.All(steps, s => Assert.True(float.IsFinite(s.LossA) && float.IsFinite(s.LossB), $"step {s.Iteration}: {s.LossA} {s.LossB}"));
        Assert.True(lastA < 0.6 * firstA, $"loss A {firstA:0.000} → {lastA:0.000}");
        Assert.True(lastB < 0.6 * firstB, $"loss B {firstB:0.000} → {lastB:0.000}");
        Assert.False(Same(model.Encoder.parameters().First(), encoderBefore));
        Assert.False(Same(model.DecoderA.parameters().First(), decoderABefore));
        Assert.False(Same(model.DecoderB.parameters().First(), decoderBBefore));
        using var preview = trainer.Preview(2);
        Assert.Equal((3 * 32, 4 * 32), (preview.Cols, preview.Rows));
        Assert.True(MovingImages.Interactive.ImageCharts.Losses(trainer.History).GetImageBytes(300, 200, ScottPlot.ImageFormat.Png).Length > 1000);
    }

    [Fact]
    public void A_checkpoint_with_a_flipped_bit_or_appended_bytes_is_refused_before_the_model_changes()
    {
        string path = Path.Combine(TestData.NewTempDir("ckpt-integrity"), "model.ckpt");
        var options = new TrainingOptions(BatchSize: 4, LearningRate: 1e-3);
        torch.random.manual_seed(4);
        using var model = new FaceSwapModel(Small);
        using var trainer = new FaceSwapTrainer(model, TrainingFaces.A, TrainingFaces.B, options, torch.CPU);
        trainer.Train(2);
        trainer.SaveCheckpoint(path);
        var good = File.ReadAllBytes(path);

        torch.random.manual_seed(5);
        using var other = new FaceSwapModel(Small);
        using var loader = new FaceSwapTrainer(other, TrainingFaces.A, TrainingFaces.B, options, torch.CPU);
        var before = other.parameters().Select(p => p.clone()).ToArray();
        foreach (int at in new[] { 40, good.Length / 2, good.Length - 40 })  // a stored loss, a weight, the optimiser state
        {
            var flipped = (byte[])good.Clone();
            flipped[at] ^= 0x10;
            File.WriteAllBytes(path, flipped);
            var e = Assert.Throws<CheckpointException>(() => loader.LoadCheckpoint(path));
            Assert.Contains("the checksum does not match", e.Message);
            Assert.Contains(path, e.Message);
            Assert.All(other.parameters().Zip(before), p => Assert.True(Same(p.First, p.Second), "a refused checkpoint changed the model"));
            Assert.Throws<CheckpointException>(() => FaceSwapCheckpoint.LoadWeights(path, other));
        }
        File.WriteAllBytes(path, [.. good, 1, 2, 3, 4]);
        Assert.Throws<CheckpointException>(() => loader.LoadCheckpoint(path));
        Assert.Equal(0, loader.Iteration);

        File.WriteAllBytes(path, good);
        loader.LoadCheckpoint(path);
        Assert.Equal(2, loader.Iteration);
        Assert.All(other.parameters().Zip(model.parameters()), p => Assert.True(Same(p.First, p.Second)));
    }

    [Fact]
    public void A_checkpoint_restores_bit_identical_weights_and_the_run_continues_exactly()
    {
        var dir = TestData.NewTempDir("checkpoint");
        string path = Path.Combine(dir, "model.ckpt");
        var options = new TrainingOptions(BatchSize: 4, LearningRate: 1e-3, Seed: 9, CheckpointEvery: 20);
        torch.random.manual_seed(4);
        using var original = new FaceSwapModel(Small);
        using var first = new FaceSwapTrainer(original, TrainingFaces.A, TrainingFaces.B, options, torch.CPU);
        first.Train(20, checkpointPath: path);
        var atCheckpoint = original.parameters().Select(p => p.clone()).ToArray();
        first.Train(10);                                                  // the uninterrupted run goes on to 30

        torch.random.manual_seed(99);                                     // a different initialisation, overwritten by the checkpoint
        using var resumed = new FaceSwapModel(Small);
        using var second = new FaceSwapTrainer(resumed, TrainingFaces.A, TrainingFaces.B, options, torch.CPU);
        second.LoadCheckpoint(path);
        Assert.Equal(20, second.Iteration);
        Assert.Equal(20, second.History.Count);
        Assert.All(resumed.parameters().Zip(atCheckpoint), p => Assert.True(Same(p.First, p.Second), "weights differ after loading"));
        second.Train(10);
        Assert.Equal(30, second.Iteration);
        Assert.All(resumed.parameters().Zip(original.parameters()), p => Assert.True(Same(p.First, p.Second), "the resumed run diverged from the uninterrupted one"));

        // damaged or foreign checkpoints are refused clearly
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        Assert.Contains("truncated", Assert.Throws<CheckpointException>(() => second.LoadCheckpoint(path)).Message);
        File.WriteAllBytes(path, bytes);
        using var other = new FaceSwapModel(new FaceSwapModelOptions(32, 32, 16));
        using var third = new FaceSwapTrainer(other, TrainingFaces.A, TrainingFaces.B, options, torch.CPU);
        Assert.Contains("is for a model of", Assert.Throws<CheckpointException>(() => third.LoadCheckpoint(path)).Message);
    }

    [Fact]
    public void Cancelling_training_stops_at_the_step_reached_and_saves_a_checkpoint_of_it()
    {
        string path = Path.Combine(TestData.NewTempDir("cancel-training"), "model.ckpt");
        using var model = new FaceSwapModel(Small);
        using var trainer = new FaceSwapTrainer(model, TrainingFaces.A, TrainingFaces.B, new TrainingOptions(BatchSize: 2, LearningRate: 1e-3, CheckpointEvery: 0), torch.CPU);
        using var cts = new CancellationTokenSource();
        var steps = trainer.Train(1000, new MovingImages.Runtime.InlineProgress<TrainingStep>(s => { if (s.Iteration == 3) cts.Cancel(); }), path, cts.Token);
        Assert.Equal(3, steps.Count);                                     // stopped at the step it was on
        using var reloaded = new FaceSwapModel(Small);
        using var again = new FaceSwapTrainer(reloaded, TrainingFaces.A, TrainingFaces.B, new TrainingOptions(BatchSize: 2, LearningRate: 1e-3), torch.CPU);
        again.LoadCheckpoint(path);
        Assert.Equal(3, again.Iteration);                                 // and saved it
        Assert.All(reloaded.parameters().Zip(model.parameters()), p => Assert.True(Same(p.First, p.Second), "the checkpoint is not the cancelled run's weights"));
    }

    // Trains two copies of a model on the same inputs, ours stepped by ourStep, theirs by TorchSharp's Adam.step(), and
    // hands check each step's parameter pairs (ours, theirs, ours before the step).
    static (TorchSharp.Modules.Adam Ours, TorchSharp.Modules.Adam Theirs) AgainstTorchSharpsAdam(
        Func<torch.nn.Module<torch.Tensor, torch.Tensor>> build, Func<torch.Tensor> input, int steps,
        Action<TorchSharp.Modules.Adam> ourStep, Action<int, torch.Tensor, torch.Tensor, torch.Tensor> check)
    {
        var ours = build();
        var theirs = build();
        using (torch.no_grad())
            foreach (var (p, q) in ours.parameters().Zip(theirs.parameters())) q.copy_(p);
        var ourOptimizer = torch.optim.Adam(ours.parameters(), 1e-2, 0.5, 0.999);
        var theirOptimizer = torch.optim.Adam(theirs.parameters(), 1e-2, 0.5, 0.999);
        for (int step = 1; step <= steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            var x = input();
            ourOptimizer.zero_grad();
            ours.call(x).square().mean().backward();
            var before = ours.parameters().Select(p => p.detach().clone()).ToArray();
            ourStep(ourOptimizer);
            theirOptimizer.zero_grad();
            theirs.call(x).square().mean().backward();
            theirOptimizer.step();
            foreach (var ((p, q), b) in ours.parameters().Zip(theirs.parameters()).Zip(before)) check(step, p, q, b);
        }
        return (ourOptimizer, theirOptimizer);
    }

    [Fact]
    public void AdamStep_unfused_updates_exactly_as_TorchSharps_Adam()
    {
        torch.random.manual_seed(5);
        var (ours, _) = AgainstTorchSharpsAdam(() => torch.nn.Linear(8, 4), () => torch.randn(16, 8), 5, AdamStep.RunUnfused,
            (step, p, q, _) => Assert.True(Same(p, q), $"step {step}: AdamStep differs from TorchSharp's Adam"));
        Assert.Equal(5, ((TorchSharp.Modules.Adam.State)ours.state_dict().State[0]).step); // its own state, so checkpoints keep their format
    }

    [Fact]
    public void AdamStep_fused_updates_as_TorchSharps_Adam_and_keeps_its_state()
    {
        torch.random.manual_seed(6);
        var (ours, theirs) = AgainstTorchSharpsAdam(
            () => torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.Linear(8 * 6 * 6, 5)), () => torch.randn(4, 3, 8, 8), 6, AdamStep.Run,
            (step, p, q, before) =>
            {
                Assert.False(Same(p, before), $"step {step}: a parameter did not move");
                double gap = (p - q).abs().max().item<float>();
                // float rounding apart (~1e-7); a wrong bias correction or moment would be off by a fraction of a step (~1e-3)
                Assert.True(gap <= 1e-5, $"step {step}: fused Adam is {gap} from TorchSharp's Adam");
            });
        var (mine, their) = (ours.state_dict().State, theirs.state_dict().State);
        for (int i = 0; i < mine.Count; i++)
        {
            var (a, b) = ((TorchSharp.Modules.Adam.State)mine[i], (TorchSharp.Modules.Adam.State)their[i]);
            Assert.Equal(6, a.step);
            Assert.True(a.exp_avg.allclose(b.exp_avg, 1e-5, 1e-7) && a.exp_avg_sq.allclose(b.exp_avg_sq, 1e-5, 1e-9), $"parameter {i}: the moments differ from TorchSharp's");
        }
    }

    [Fact]
    public void AdamStep_falls_back_to_the_unfused_step_for_tensors_the_fused_kernel_cannot_take()
    {
        // a float64 model: the fused kernel refuses it (FusedAdam.Supports), the unfused step runs, bit-exact with TorchSharp's
        torch.random.manual_seed(7);
        AgainstTorchSharpsAdam(() => torch.nn.Linear(6, 3).to(torch.float64), () => torch.randn(5, 6, dtype: torch.float64), 3, AdamStep.Run,
            (step, p, q, _) => Assert.True(Same(p, q), $"step {step}: differs"));
    }
}
