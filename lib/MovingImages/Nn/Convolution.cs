using static TorchSharp.torch;

namespace MovingImages.Nn;

/// <summary>
/// The library's 2-D convolution: <c>conv2d</c> through the current <see cref="ConvolutionRouter"/>, so every class of
/// shapes is checked once against an independent reference and computed by a route that is right on this CPU.
/// </summary>
public static class Convolution
{
    /// <summary><c>conv2d(x, weight, bias)</c> with square stride, padding and dilation.</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, long groups = 1) =>
        ConvolutionRouter.Current.Conv2d(x, weight, bias, ConvGeometry.Square(stride, padding, dilation, groups));

    /// <summary><c>conv2d(x, weight, bias)</c> with <paramref name="geometry"/>, by <paramref name="preferred"/> where that route is right.</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, ConvGeometry geometry, ConvRoute preferred = ConvRoute.Native) =>
        ConvolutionRouter.Current.Conv2d(x, weight, bias, geometry, preferred);
}
