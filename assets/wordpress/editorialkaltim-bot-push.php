<?php
/**
 * Plugin Name: Editorial Kaltim bot: push trigger
 * Description: Tells the news-to-Instagram bot the moment a post is published, so it polls the feed at its next tick (seconds) instead of at its next scheduled poll.
 * Version: 1.0.0
 * Requires PHP: 7.4
 * License: MIT
 *
 * A must-use plugin: copy this file into wp-content/mu-plugins/ (WordPress loads every
 * PHP file there, and it cannot be switched off by accident in the admin). Then add to
 * wp-config.php, above "That's all, stop editing!":
 *
 *     define( 'EDITORIALKALTIM_BOT_HOOK_URL', 'https://bot.example.com/hooks/wordpress' );
 *     define( 'EDITORIALKALTIM_BOT_TOKEN', 'the same value as BOT_HOOK_TOKEN on the bot' );
 *     // Optional: the bot's [[feeds]] name to poll (default: the feeds on this site's host).
 *     // define( 'EDITORIALKALTIM_BOT_FEED', 'utama' );
 *
 * Without both constants the plugin does nothing. The request is sent non-blocking:
 * publishing never waits for the bot, and a bot that is down costs nothing but the
 * push (the bot's regular polls still find the post).
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

add_action( 'transition_post_status', 'editorialkaltim_bot_push', 10, 3 );

/**
 * On a post's first publication (not on every later edit), ask the bot to poll.
 *
 * @param string  $new_status The post's status now.
 * @param string  $old_status Its status before.
 * @param WP_Post $post       The post.
 */
function editorialkaltim_bot_push( $new_status, $old_status, $post ) {
	if ( 'publish' !== $new_status || 'publish' === $old_status ) {
		return;
	}
	if ( 'post' !== get_post_type( $post ) || wp_is_post_revision( $post ) || wp_is_post_autosave( $post ) ) {
		return;
	}
	if ( ! defined( 'EDITORIALKALTIM_BOT_HOOK_URL' ) || ! defined( 'EDITORIALKALTIM_BOT_TOKEN' ) ) {
		return;
	}
	// The permalink lets the bot check that the article reached the feed, and poll
	// again shortly if a page cache still served the old one.
	$body = array( 'url' => get_permalink( $post ) );
	if ( defined( 'EDITORIALKALTIM_BOT_FEED' ) && EDITORIALKALTIM_BOT_FEED ) {
		$body['feed'] = EDITORIALKALTIM_BOT_FEED;
	}
	wp_remote_post(
		EDITORIALKALTIM_BOT_HOOK_URL,
		array(
			'blocking'    => false,
			'timeout'     => 3,
			'redirection' => 0,
			'headers'     => array(
				'Content-Type' => 'application/json',
				'X-Bot-Token'  => EDITORIALKALTIM_BOT_TOKEN,
			),
			'body'        => wp_json_encode( $body ),
			'data_format' => 'body',
		)
	);
}
