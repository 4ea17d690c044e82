using MovingImages.Nn;
using TorchSharp;

namespace MovingImages.Tests.Nn;

public class FusedAdamTests
{
    [Fact]
    public void One_step_is_Adams_formula_on_every_tensor_and_the_moments_are_updated_in_place()
    {
        // p − lr·m̂/(√v̂ + ε), m = β₁m + (1−β₁)g, v = β₂v + (1−β₂)g², m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ); at step 3 from given moments
        const double lr = 0.1, b1 = 0.5, b2 = 0.9, eps = 1e-3;
        float[] p0 = [1f, -2f, 0.5f, 3f, 0f], g = [0.5f, -1f, 2f, 0f, -0.25f], m0 = [0.1f, 0.2f, -0.3f, 0f, 0.05f], v0 = [0.01f, 0.04f, 0.09f, 0f, 0.2f];
        using var p = torch.tensor(p0); using var grad = torch.tensor(g); using var m = torch.tensor(m0); using var v = torch.tensor(v0);
        using var p2 = torch.tensor(new[] { 7f, 8f }); using var grad2 = torch.tensor(new[] { 1f, -1f });
        using var m2 = torch.zeros(2); using var v2 = torch.zeros(2);
        Assert.True(FusedAdam.Supports([p, p2], [grad, grad2], [m, m2], [v, v2]));
        Assert.True(FusedAdam.Step([p, p2], [grad, grad2], [m, m2], [v, v2], step: 3, lr, b1, b2, eps), "libtorch's fused Adam entry point is missing");
        var (pa, ma, va) = (p.data<float>().ToArray(), m.data<float>().ToArray(), v.data<float>().ToArray());
        for (int i = 0; i < p0.Length; i++)
        {
            double mi = b1 * m0[i] + (1 - b1) * g[i], vi = b2 * v0[i] + (1 - b2) * g[i] * g[i];
            double expected = p0[i] - lr / (1 - Math.Pow(b1, 3)) * mi / (Math.Sqrt(vi) / Math.Sqrt(1 - Math.Pow(b2, 3)) + eps);
            Assert.Equal(mi, ma[i], 5);
            Assert.Equal(vi, va[i], 5);
            Assert.Equal(expected, pa[i], 4);
        }
        Assert.NotEqual(7f, p2.data<float>()[0]);                      // the second tensor of the lists moved too
        Assert.Equal(0.5f, m2.data<float>()[0], 5);
    }

    [Fact]
    public void Tensors_the_kernel_cannot_index_linearly_are_not_supported()
    {
        using var p = torch.zeros(4, 3); using var g = torch.zeros(3, 4).t(); using var m = torch.zeros(4, 3); using var v = torch.zeros(4, 3);
        Assert.False(FusedAdam.Supports([p], [g], [m], [v]));                          // a transposed (non-contiguous) gradient
        using var g2 = torch.zeros(4, 3); using var d = torch.zeros(4, 3, dtype: torch.float64);
        Assert.True(FusedAdam.Supports([p], [g2], [m], [v]));
        Assert.False(FusedAdam.Supports([d], [g2], [m], [v]));                         // float64
        using var wrong = torch.zeros(12);
        Assert.False(FusedAdam.Supports([p], [g2], [wrong], [v]));                     // a moment of another shape
    }
}
