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
    public void Same_convolution_as_one_matrix_product_computes_the_convolution_and_its_gradients(int size, int k, int stride)
    {
        torch.random.manual_seed(size * k + stride);
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(3, 24, size, size).requires_grad_(true);
        var w = torch.randn(10, 24, k, k).requires_grad_(true);
        var b = torch.randn(10).requires_grad_(true);
        var upstream = torch.randn(3, 10, (size + stride - 1) / stride, (size + stride - 1) / stride);
        torch.Tensor[] Run(Func<torch.Tensor> conv)
        {
            foreach (var t in new[] { x, w, b }) t.grad?.zero_();
            var y = conv();
            y.backward([upstream]);
            return [y.detach().clone(), x.grad!.clone(), w.grad!.clone(), b.grad!.clone()];
        }
        var expected = Run(() => TfOps.ConvSame(x, w, b, stride));
        var gemm = Run(() => TfOps.ConvSameAsGemm(x, w, b, stride));
        string[] names = ["output", "input gradient", "weight gradient", "bias gradient"];
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(expected[i].shape, gemm[i].shape);
            Assert.True(gemm[i].allclose(expected[i], 1e-4, 1e-3), $"{names[i]} differs by {(gemm[i] - expected[i]).abs().max().item<float>()}");
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
