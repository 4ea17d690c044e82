using MovingImages.Darknet;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MovingImages.Tests.Darknet;

/// <summary>The fast 2×2 max pool gives exactly what −∞ padding + max_pool2d gives, for every size and stride darknet uses.</summary>
public class MaxPoolTests
{
    [Theory]
    [InlineData(2, 2, 416, 416)]   // yolov3-tiny's first pool: no padding needed
    [InlineData(2, 2, 13, 13)]     // an odd size: the last window reaches the padding
    [InlineData(2, 2, 26, 27)]
    [InlineData(2, 1, 13, 13)]     // yolov3-tiny's stride-1 pool keeps 13×13
    [InlineData(5, 1, 13, 13)]     // yolov3-spp's pools (the general path)
    [InlineData(9, 1, 13, 13)]
    public void Equals_padding_and_max_pool2d(int size, int stride, int h, int w)
    {
        using var scope = torch.NewDisposeScope();
        var layer = new MaxPoolLayer(0, 1, size, stride, size - 1);
        var x = torch.randn([2, 3, h, w], generator: new Generator(7));
        x[0, 0, 0, 0] = torch.tensor(float.NegativeInfinity);  // −∞ and ties in the input
        x[1, 2, 1, 1] = x[1, 2, 1, 0];
        int before = layer.Padding / 2, after = layer.Padding - before;
        var reference = F.max_pool2d(F.pad(x, [before, after, before, after], PaddingModes.Constant, double.NegativeInfinity), [size, size], [stride, stride]);
        using var pool = new DarknetNetwork.MaxPool(layer);
        var ours = pool.call(x);
        var shape = ours.shape;
        Assert.Equal(reference.shape, shape);
        Assert.Equal((h + layer.Padding - size) / stride + 1, shape[2]);
        Assert.True(ours.eq(reference).all().item<bool>(), $"{size}×{size}/{stride} on {h}×{w} differs from max_pool2d");
    }

    [Theory]
    [InlineData(2, 2, 416, 416)]   // the tiny face detector's pools: TF "same" padding
    [InlineData(2, 2, 13, 13)]     // odd: one padded row and column after
    [InlineData(2, 1, 13, 13)]     // its last, stride-1 pool
    [InlineData(3, 2, 26, 26)]     // not 2×2: the general path
    public void Tf_same_max_pool_equals_padding_and_max_pool2d(int size, int stride, int h, int w)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([2, 3, h, w], generator: new Generator(11));
        x[0, 1, 2, 2] = torch.tensor(float.NegativeInfinity);
        var (top, bottom) = MovingImages.Nn.TfOps.SamePadding(h, size, stride);
        var (left, right) = MovingImages.Nn.TfOps.SamePadding(w, size, stride);
        var reference = F.max_pool2d(F.pad(x, [left, right, top, bottom], PaddingModes.Constant, double.NegativeInfinity), [size, size], [stride, stride]);
        var ours = MovingImages.Nn.TfOps.MaxPoolSame(x, size, stride);
        Assert.Equal(reference.shape, ours.shape);
        Assert.True(ours.eq(reference).all().item<bool>(), $"TF-same {size}×{size}/{stride} on {h}×{w} differs from max_pool2d");
    }
}
