using TorchSharp;

namespace MovingImages.Cli.Commands;

/// <summary>libtorch's one-time start of its convolution machinery, paid before a bench times the self-check.</summary>
internal static class ConvolutionStart
{
    /// <summary>
    /// Pays libtorch's one-time start of its convolution and autograd machinery (10–20 ms, paid by a process's first
    /// convolution whatever it is) with a 1×1×4×4 convolution forward and backward, so a timing that follows measures
    /// only its own work.
    /// </summary>
    public static void Pay()
    {
        using var scope = torch.NewDisposeScope();
        var weight = torch.ones(1, 1, 3, 3).requires_grad_();
        Nn.ConvolutionRoutes.Native(torch.ones(1, 1, 4, 4), weight, null, Nn.ConvGeometry.Square(padding: 1)).sum().backward();
    }
}
