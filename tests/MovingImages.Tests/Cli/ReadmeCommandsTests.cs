using System.CommandLine;
using System.Text.RegularExpressions;
using MovingImages.Cli;

namespace MovingImages.Tests.Cli;

/// <summary>The commands README.md shows exist as written: every command path and every option it names.</summary>
public partial class ReadmeCommandsTests
{
    static string Readme => File.ReadAllText(Path.Combine(TestData.RepoRoot, "README.md"));

    /// <summary>Lines in README's code blocks that run the CLI: "movingimages …" or "dotnet run --project lib/MovingImages.Cli -- …".</summary>
    static IEnumerable<string> CommandLines()
    {
        bool inCode = false;
        foreach (var raw in Readme.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("```")) { inCode = !inCode; continue; }
            if (!inCode) continue;
            if (line.StartsWith("movingimages ")) yield return line["movingimages ".Length..];
            else if (line.Contains("lib/MovingImages.Cli -- ")) yield return line[(line.IndexOf("lib/MovingImages.Cli -- ", StringComparison.Ordinal) + "lib/MovingImages.Cli -- ".Length)..];
        }
    }

    [Fact]
    public void Every_command_and_option_in_the_readme_exists()
    {
        var root = CliApp.Root(new CliIO(TextWriter.Null, TextWriter.Null));
        var lines = CommandLines().ToArray();
        Assert.True(lines.Length >= 20, $"found only {lines.Length} command lines in README.md");
        foreach (var line in lines)
        {
            string text = line.Split('#')[0];                              // a comment after the command
            var words = Regex.Matches(text, @"[^\s]+").Select(m => m.Value).ToArray();
            Command command = root;
            int i = 0;
            for (; i < words.Length; i++)
            {
                // "a|b" alternatives: every one must be a subcommand
                var names = words[i].Split('|');
                var subs = names.Select(n => command.Subcommands.FirstOrDefault(c => c.Name == n)).ToArray();
                if (subs.All(s => s is null)) break;
                Assert.True(subs.All(s => s is not null), $"README: `{line}`: not every one of {words[i]} is a command of `{command.Name}`");
                command = subs[0]!;
            }
            Assert.True(command != root, $"README: `{line}` names no command");
            var known = command.Options.SelectMany(o => o.Aliases.Append(o.Name)).ToHashSet();
            foreach (Match option in OptionName().Matches(text))
                Assert.True(known.Contains(option.Value) || option.Value is "--help",
                    $"README: `{line}`: `{command.Name}` has no option {option.Value} (it has {string.Join(", ", known.Order())})");
        }
    }

    [GeneratedRegex(@"(?<![\w-])--?[a-z][a-z0-9-]*")]
    private static partial Regex OptionName();
}
