using Microsoft.DotNet.Interactive;

namespace MovingImages.Interactive;

/// <summary>
/// The .NET Interactive kernel extension: registers MovingImages' formatters and makes the native libraries loadable.
/// A kernel runs it when the library comes from a NuGet package (<c>interactive-extensions/dotnet</c>); a notebook that
/// <c>#r</c>-references the build output gets the same by <see cref="NotebookDisplay.Register"/> — which also runs on its
/// own the first time any type of this assembly is used.
/// </summary>
public sealed class MovingImagesKernelExtension : IKernelExtension
{
    /// <inheritdoc/>
    public Task OnLoadAsync(Kernel kernel)
    {
        NotebookDisplay.Register();
        return Task.CompletedTask;
    }
}
