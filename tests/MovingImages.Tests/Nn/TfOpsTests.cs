using MovingImages.Nn;
using TorchSharp;
using F = TorchSharp.torch.nn.functional;

namespace MovingImages.Tests.Nn;

public class TfOpsTests
{
    [Theory]
    [InlineData(16, 3, 1)]   // symmetric: padding inside the convolution
    [InlineData(17, 5, 1)]
    [InlineData(16, 5, 2)]   // asymmetric (1 before, 2 after): padded first
    [InlineData(15, 3, 2)]   // symmetric at stride 2 (odd size)
    public void Same_convolution_equals_TFs_explicit_padding(int size, int k, int stride)
    {
        torch.random.manual_seed(size + k + stride);
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, 4, size, size);
        var w = torch.randn(6, 4, k, k);
        var b = torch.randn(6);
        var y = TfOps.ConvSame(x, w, b, stride);
        // TF "same": output ceil(size/stride), total padding split with the extra pixel after
        long output = (size + stride - 1) / stride, total = Math.Max((output - 1) * stride + k - size, 0);
        int before = (int)(total / 2), after = (int)(total - total / 2);
        var expected = F.conv2d(F.pad(x, [before, after, before, after]), w, b, strides: [stride, stride]);
        Assert.Equal(expected.shape, y.shape);
        Assert.True(y.allclose(expected, 1e-4, 1e-4), $"differs by {(y - expected).abs().max().item<float>()}");
    }

    [Theory]
    [InlineData(8, 5, 2)]    // the encoder's last convolution: asymmetric padding, 4×4 outputs
    [InlineData(4, 3, 1)]    // the encoder's upscale
    [InlineData(7, 3, 2)]
    public void Same_convolution_and_its_matrix_product_compute_what_a_plain_loop_computes_with_their_gradients(int size, int k, int stride)
    {
        // Held to the plain C# reference (itself checked against NumPy), not to another libtorch kernel: libtorch 2.10's
        // convolution is wrong for 24 input channels on some AVX-512 CPUs, which is what first failed this test there.
        torch.random.manual_seed(size * k + stride);
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(3, 24, size, size).requires_grad_(true);
        var w = torch.randn(10, 24, k, k).requires_grad_(true);
        var b = torch.randn(10).requires_grad_(true);
        long output = (size + stride - 1) / stride;
        var r = torch.randn(10);
        var s = torch.randn(3, output, output);
        var upstream = r.view(1, 10, 1, 1) * s.view(3, 1, output, output);            // rank one: the reference's gradients are exact

        var (before, after) = TfOps.SamePadding(size, k, stride);
        using var padded = F.pad(x.detach(), [before, after, before, after]);            // the reference takes symmetric padding: pad first
        int side = size + before + after;
        var reference = new ReferenceConvolution(3, 24, side, side, 10, k, k, MovingImages.Nn.ConvGeometry.Square(stride));
        float[] Floats(torch.Tensor t) => t.detach().contiguous().data<float>().ToArray();
        float[] rv = Floats(r), sv = Floats(s), xv = Floats(padded), wv = Floats(w);
        double[] expectedOutput = reference.Forward(xv, wv, Floats(b)).Select(v => (double)v).ToArray();
        double[] paddedGradient = reference.InputGradient(reference.KernelAlong(wv, rv), sv);
        double[] expectedInput = new double[3 * 24 * size * size];                        // the padded gradient's interior
        for (int n = 0; n < 3 * 24; n++)
            for (int i = 0; i < size; i++)
                for (int j = 0; j < size; j++)
                    expectedInput[(n * size + i) * size + j] = paddedGradient[(n * side + i + before) * side + j + before];
        double[][] expected = [expectedOutput, expectedInput, reference.WeightGradient(reference.WindowsAlong(xv, sv), rv), ReferenceConvolution.BiasGradient(rv, sv)];

        string[] names = ["output", "input gradient", "weight gradient", "bias gradient"];
        foreach (var (name, conv) in new (string, Func<torch.Tensor>)[] { ("convolution", () => TfOps.ConvSame(x, w, b, stride)), ("matrix product", () => TfOps.ConvSameAsGemm(x, w, b, stride)) })
        {
            foreach (var t in new[] { x, w, b }) t.grad?.zero_();
            var y = conv();
            Assert.Equal([3L, 10, output, output], y.shape);
            y.backward([upstream]);
            float[][] actual = [Floats(y), Floats(x.grad!), Floats(w.grad!), Floats(b.grad!)];
            for (int i = 0; i < 4; i++)
            {
                double largest = expected[i].Max(Math.Abs), worst = expected[i].Zip(actual[i], (e, a) => Math.Abs(e - a)).Max();
                Assert.True(worst <= 1e-4 * largest, $"{name}: {names[i]} differs by {worst} (of {largest})");
            }
        }
    }

    [Fact]
    public void The_matrix_product_is_chosen_only_for_many_channels_over_few_positions()
    {
        Assert.True(TfOps.PreferGemm(8, 8, 512, 5, 2));       // chapter's encoder: 512 → 1024 at 4×4
        Assert.True(TfOps.PreferGemm(4, 4, 1024, 3, 1));      // and its upscale
        Assert.False(TfOps.PreferGemm(8, 8, 512, 3, 1));      // 64 positions: the convolution is faster
        Assert.False(TfOps.PreferGemm(4, 4, 256, 3, 1));      // the classroom model's upscale: too few channels
    }
}
