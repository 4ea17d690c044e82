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
}
