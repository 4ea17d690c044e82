using System.CommandLine;
using MovingImages.Cli;

namespace MovingImages.Tests.Cli;

/// <summary>An option that several commands take means the same everywhere: one definition (SharedOptions), one default.</summary>
public class SharedOptionsTests
{
    static IEnumerable<(string Path, Option Option)> AllOptions(Command command, string path)
    {
        foreach (var o in command.Options) yield return ($"{path} {o.Name}", o);
        foreach (var c in command.Subcommands)
            foreach (var x in AllOptions(c, $"{path} {c.Name}")) yield return x;
    }

    [Theory]
    [InlineData("--threads", 5)]  // locate, soak, bench video, bench locate, bench faces, bench fakevideo
    [InlineData("--models", 3)]   // faces, fakevideo preprocess/train/convert, bench faces, bench fakevideo
    public void A_shared_option_has_one_description_and_one_default(string name, int atLeast)
    {
        var root = CliApp.Root(new CliIO(TextWriter.Null, TextWriter.Null));
        var found = AllOptions(root, "movingimages").Where(x => x.Option.Name == name).ToArray();
        Assert.True(found.Length >= atLeast, $"{name} on only {found.Length} commands: {string.Join(", ", found.Select(f => f.Path))}");
        var described = found.Select(f => f.Option.Description).Distinct().ToArray();
        Assert.True(described.Length == 1, $"{name} described {described.Length} ways: {string.Join(" | ", described)}");
        var defaults = found.Select(f => f.Option.HasDefaultValue ? $"{f.Option.GetDefaultValue()}" : "(none)").Distinct().ToArray();
        Assert.True(defaults.Length == 1, $"{name} has {defaults.Length} defaults: {string.Join(", ", defaults)}");
    }
}
